/** Conv geometry for filter-gradient kernels, via tfjs's own shape logic (same rounding, same 'same' split). */
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { im2colChannelsFirst, type PatchGeometry } from './im2col.js';
import { release, transpose } from './wasm-ops.js';

export interface FilterGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | [number, number];
  filterShape: [number, number, number, number];
}

export function patchGeometry(xShape: number[], attrs: FilterGradAttrs, depthwise: boolean): PatchGeometry & { outChannels: number } {
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );
  return {
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
  };
}

/** NCHW inputs are brought to NHWC once (the wasm conv kernels themselves are NHWC-only). */
export function toNHWC(backend: BackendWasm, x: TensorInfo, dataFormat: string | undefined): { t: TensorInfo; owned: boolean } {
  if (dataFormat !== 'NCHW') return { t: x, owned: false };
  return { t: transpose(backend, x, [0, 2, 3, 1]), owned: true };
}

/** Explicit paddings follow the data format; reorder NCHW's [n, c, h, w] entries to NHWC. */
export function padToNHWC(pad: FilterGradAttrs['pad'], dataFormat: string | undefined): FilterGradAttrs['pad'] {
  if (dataFormat !== 'NCHW' || !Array.isArray(pad)) return pad;
  return [pad[0], pad[2], pad[3], pad[1]] as backend_util.ExplicitPadding;
}

/** What a filter-gradient kernel computes dW from: see filterGradFromPatches. */
export interface FilterGradParts {
  backend: BackendWasm;
  /** x's patches, channels first: [fH*fW*C, P] with P = batch*outH*outW (see im2col.ts). */
  cols: TensorInfo;
  /** dy in NHWC, [batch, outH, outW, outChannels]. */
  dy: TensorInfo;
  filterShape: FilterGradAttrs['filterShape'];
}

/**
 * The set-up Conv2DBackpropFilter and DepthwiseConv2dNativeBackpropFilter share: x and dy brought
 * to NHWC, the patch geometry, and x's patches; `compute` turns them into dW. Everything made here
 * (not dW) is released afterwards.
 */
export function filterGradFromPatches(args: Parameters<KernelFunc>[0], depthwise: boolean, compute: (parts: FilterGradParts) => TensorInfo): TensorInfo {
  const backend = args.backend as BackendWasm;
  const inputs = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as FilterGradAttrs;
  const x = toNHWC(backend, inputs.x, attrs.dataFormat);
  const dy = toNHWC(backend, inputs.dy, attrs.dataFormat);
  const g = patchGeometry(x.t.shape, { ...attrs, pad: padToNHWC(attrs.pad, attrs.dataFormat) }, depthwise);
  const cols = im2colChannelsFirst(backend, x.t, g);
  try {
    return compute({ backend, cols, dy: dy.t, filterShape: attrs.filterShape });
  } finally {
    release(backend, cols);
    if (x.owned) release(backend, x.t);
    if (dy.owned) release(backend, dy.t);
  }
}
