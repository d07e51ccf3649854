/**
 * DepthwiseConv2dNativeBackpropFilter for wasm:
 * dW[i,j,c,m] = sum_P cols[(i,j), c, P] * dy[P, c*mult + m].
 * Each channel only meets its own dy columns, so this is a batched dot product rather than one
 * GEMM: broadcast multiply [taps, C, 1, P] x [1, C, mult, P] and reduce the contiguous last
 * axis (wasm Sum reduces the innermost axis without a transpose).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { padToNHWC, patchGeometry, toNHWC, type FilterGradAttrs } from './conv-geometry.js';
import { im2colChannelsFirst } from './im2col.js';
import { release, reshape, runWasm, transpose } from './wasm-ops.js';

export const depthwiseBackpropFilterWasm: KernelFunc = (args) => {
  const backend = args.backend as BackendWasm;
  const inputs = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as FilterGradAttrs;
  const x = toNHWC(backend, inputs.x, attrs.dataFormat);
  const dy = toNHWC(backend, inputs.dy, attrs.dataFormat);
  const g = patchGeometry(x.t.shape, { ...attrs, pad: padToNHWC(attrs.pad, attrs.dataFormat) }, true);
  const [fH, fW, c, mult] = attrs.filterShape;
  const cols = im2colChannelsFirst(backend, x.t, g);
  const p = cols.shape[1]!;
  const cols4 = reshape(backend, cols, [fH * fW, c, 1, p]);
  const dy3 = reshape(backend, dy.t, [p, c, mult]);
  const dyT = transpose(backend, dy3, [1, 2, 0]); // [C, mult, P]
  const dy4 = reshape(backend, dyT, [1, c, mult, p]);
  const prod = runWasm(backend, 'Multiply', { a: cols4, b: dy4 });
  const summed = runWasm(backend, 'Sum', { x: prod }, { axis: [3], keepDims: false });
  const dW = reshape(backend, summed, [fH, fW, c, mult]);
  release(backend, cols, cols4, dy3, dyT, dy4, prod, summed);
  if (x.owned) release(backend, x.t);
  if (dy.owned) release(backend, dy.t);
  return dW;
};
