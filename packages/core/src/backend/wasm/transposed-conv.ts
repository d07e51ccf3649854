/**
 * Input gradients of convolutions as forward convolutions (so XNNPACK does the work): dy is
 * zero-stuffed by the stride and padded to the "full" extent; correlating that (stride 1, same
 * dilation) with the spatially flipped filter gives dx.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { PatchGeometry } from './im2col.js';
import { release, reshape, runWasm } from './wasm-ops.js';
import { padToNHWC, patchGeometry, type FilterGradAttrs } from './conv-geometry.js';

/** Pads (or, for negative amounts, crops) axes 1 and 2 of an NHWC tensor. */
function padOrCrop(backend: BackendWasm, x: TensorInfo, top: number, bottom: number, left: number, right: number): TensorInfo {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const padded = runWasm(backend, 'PadV2', { x }, {
    paddings: [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]],
    constantValue: 0,
  });
  if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) return padded;
  const cropped = runWasm(backend, 'Slice', { x: padded }, {
    begin: [0, Math.max(0, -top), Math.max(0, -left), 0],
    size: [n, h + top + bottom, w + left + right, c],
  });
  release(backend, padded);
  return cropped;
}

/** dy [N, oh, ow, K] -> zero-stuffed, padded [N, H + (fH-1)*dH, W + (fW-1)*dW, K]; caller releases. */
export function stuffAndPad(backend: BackendWasm, dy: TensorInfo, g: PatchGeometry, [n, h, w]: [number, number, number]): TensorInfo {
  const [, oh, ow, k] = dy.shape as [number, number, number, number];
  let stuffed = dy;
  if (g.strideHeight > 1 || g.strideWidth > 1) {
    // [N, oh, 1, ow, 1, K] padded to [N, oh, sH, ow, sW, K]: each dy pixel followed by zeros.
    const dy6 = reshape(backend, dy, [n, oh, 1, ow, 1, k]);
    const pad6 = runWasm(backend, 'PadV2', { x: dy6 }, {
      paddings: [[0, 0], [0, 0], [0, g.strideHeight - 1], [0, 0], [0, g.strideWidth - 1], [0, 0]],
      constantValue: 0,
    });
    stuffed = reshape(backend, pad6, [n, oh * g.strideHeight, ow * g.strideWidth, k]);
    release(backend, dy6, pad6);
  }
  const extentH = (g.filterHeight - 1) * g.dilationHeight;
  const extentW = (g.filterWidth - 1) * g.dilationWidth;
  const top = extentH - g.padTop;
  const left = extentW - g.padLeft;
  const full = padOrCrop(backend, stuffed, top, h + extentH - top - stuffed.shape[1]!, left, w + extentW - left - stuffed.shape[2]!);
  if (stuffed !== dy) release(backend, stuffed);
  return full;
}

/**
 * filter [fH, fW, Cin, Cout] -> spatially flipped, channels swapped [fH, fW, Cout, Cin], in one
 * heap loop (the stock wasm Reverse took ~2 ms for a 3x3x64x64 filter).
 */
export function flipAndSwapFilter(backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [fH, fW, cIn, cOut] = filter.shape as [number, number, number, number];
  const out = backend.makeOutput([fH, fW, cOut, cIn], filter.dtype);
  const src = backend.typedArrayFromHeap(filter);
  const dst = backend.typedArrayFromHeap(out);
  const tap = cIn * cOut;
  for (let i = 0; i < fH; i++) {
    for (let j = 0; j < fW; j++) {
      const from = ((fH - 1 - i) * fW + (fW - 1 - j)) * tap;
      const to = (i * fW + j) * tap;
      for (let c = 0; c < cIn; c++) {
        for (let o = 0; o < cOut; o++) dst[to + o * cIn + c] = src[from + c * cOut + o]!;
      }
    }
  }
  return out;
}

/** Conv2DBackpropInput for wasm: the stock kernel is a naive loop (~400 ms of a 4-image DETR step). */
export const conv2DBackpropInputWasm = (args: { inputs: object; backend: unknown; attrs?: object }): TensorInfo => {
  const backend = args.backend as BackendWasm;
  const inputs = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as FilterGradAttrsLike;
  const nchw = attrs.dataFormat === 'NCHW';
  const dy = nchw ? runWasm(backend, 'Transpose', { x: inputs.dy }, { perm: [0, 2, 3, 1] }) : inputs.dy;
  const s = attrs.inputShape;
  const inputShape: [number, number, number, number] = nchw ? [s[0], s[2], s[3], s[1]] : s;
  const [fH, fW, cIn, cOut] = inputs.filter.shape as [number, number, number, number];
  const g = patchGeometry(inputShape, { ...attrs, pad: padToNHWC(attrs.pad, attrs.dataFormat), dataFormat: 'NHWC', filterShape: [fH, fW, cIn, cOut] }, false);
  const full = stuffAndPad(backend, dy, g, [inputShape[0], inputShape[1], inputShape[2]]);
  const swapped = flipAndSwapFilter(backend, inputs.filter);
  const dx = runWasm(backend, 'Conv2D', { x: full, filter: swapped }, {
    strides: [1, 1], pad: 'valid', dilations: [g.dilationHeight, g.dilationWidth], dataFormat: 'NHWC',
  });
  release(backend, full, swapped);
  if (!nchw) return dx;
  release(backend, dy);
  const out = runWasm(backend, 'Transpose', { x: dx }, { perm: [0, 3, 1, 2] });
  release(backend, dx);
  return out;
};

type FilterGradAttrsLike = Omit<FilterGradAttrs, 'filterShape'> & { inputShape: [number, number, number, number] };
