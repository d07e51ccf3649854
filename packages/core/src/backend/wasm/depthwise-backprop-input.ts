/**
 * DepthwiseConv2dNativeBackpropInput for wasm (also missing at tfjs 4.22): the transposed
 * convolution written as a forward one, so XNNPACK's depthwise kernel does the work.
 * dy is zero-stuffed by the stride, padded to the "full" extent, and correlated (stride 1,
 * same dilation) with the spatially flipped filter; every (c, m) dy channel is its own
 * depthwise channel, and the channel multiplier is summed out at the end.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { patchGeometry, type FilterGradAttrs } from './conv-geometry.js';
import { release, reshape, runWasm } from './wasm-ops.js';

type InputGradAttrs = Omit<FilterGradAttrs, 'filterShape'> & { inputShape: [number, number, number, number] };

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

export const depthwiseBackpropInputWasm: KernelFunc = (args) => {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as InputGradAttrs;
  const [fH, fW, c, mult] = filter.shape as [number, number, number, number];
  const [n, h, w] = attrs.inputShape;
  const g = patchGeometry(attrs.inputShape, { ...attrs, filterShape: [fH, fW, c, mult] }, true);
  const [, oh, ow, k] = dy.shape as [number, number, number, number];

  // Zero-stuff by the stride: [N, oh, 1, ow, 1, K] padded to [N, oh, sH, ow, sW, K].
  let stuffed = dy;
  if (g.strideHeight > 1 || g.strideWidth > 1) {
    const dy6 = reshape(backend, dy, [n, oh, 1, ow, 1, k]);
    const pad6 = runWasm(backend, 'PadV2', { x: dy6 }, {
      paddings: [[0, 0], [0, 0], [0, g.strideHeight - 1], [0, 0], [0, g.strideWidth - 1], [0, 0]],
      constantValue: 0,
    });
    stuffed = reshape(backend, pad6, [n, oh * g.strideHeight, ow * g.strideWidth, k]);
    release(backend, dy6, pad6);
  }
  const extentH = (fH - 1) * g.dilationHeight;
  const extentW = (fW - 1) * g.dilationWidth;
  const top = extentH - g.padTop;
  const left = extentW - g.padLeft;
  const full = padOrCrop(
    backend, stuffed,
    top, h + extentH - top - stuffed.shape[1]!,
    left, w + extentW - left - stuffed.shape[2]!,
  );
  if (stuffed !== dy) release(backend, stuffed);

  const flipped = runWasm(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  const perChannel = reshape(backend, flipped, [fH, fW, c * mult, 1]);
  const conv = runWasm(backend, 'DepthwiseConv2dNative', { x: full, filter: perChannel }, {
    strides: [1, 1], pad: 'valid', dilations: [g.dilationHeight, g.dilationWidth], dataFormat: 'NHWC',
  });
  release(backend, full, flipped, perChannel);
  if (mult === 1) return conv;
  const conv5 = reshape(backend, conv, [n, h, w, c, mult]);
  const dx = runWasm(backend, 'Sum', { x: conv5 }, { axis: [4], keepDims: false });
  release(backend, conv, conv5);
  return dx;
};
