/**
 * DepthwiseConv2dNativeBackpropInput for wasm (also missing at tfjs 4.22): the transposed
 * convolution written as a forward one, so XNNPACK's depthwise kernel does the work.
 * dy is zero-stuffed and padded (transposed-conv.ts), then correlated (stride 1, same
 * dilation) with the spatially flipped filter; every (c, m) dy channel is its own
 * depthwise channel, and the channel multiplier is summed out at the end.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { patchGeometry, type FilterGradAttrs } from './conv-geometry.js';
import { release, reshape, runWasm } from './wasm-ops.js';
import { stuffAndPad } from './transposed-conv.js';

type InputGradAttrs = Omit<FilterGradAttrs, 'filterShape'> & { inputShape: [number, number, number, number] };

export const depthwiseBackpropInputWasm: KernelFunc = (args) => {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as InputGradAttrs;
  const [fH, fW, c, mult] = filter.shape as [number, number, number, number];
  const [n, h, w] = attrs.inputShape;
  const g = patchGeometry(attrs.inputShape, { ...attrs, filterShape: [fH, fW, c, mult] }, true);

  const full = stuffAndPad(backend, dy, g, [n, h, w]);
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
