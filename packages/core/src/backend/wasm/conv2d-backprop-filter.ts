/**
 * Conv2DBackpropFilter for wasm: dW[fH,fW,C,Cout] = im2col(x)ᵀ-layout [fH*fW*C, P] @ dy[P, Cout],
 * one plain GEMM on XNNPACK. Measured against the alternative (a dilated convolution of the
 * transposed input by the transposed dy) in bench/kernels.ts; see the report there.
 * Accepts an optional `dilations` attr (tfjs's conv2d gradient rejects dilation > 1 today).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { padToNHWC, patchGeometry, toNHWC, type FilterGradAttrs } from './conv-geometry.js';
import { im2colChannelsFirst } from './im2col.js';
import { release, reshape, runWasm } from './wasm-ops.js';

export const conv2DBackpropFilterWasm: KernelFunc = (args) => {
  const backend = args.backend as BackendWasm;
  const inputs = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as FilterGradAttrs;
  const x = toNHWC(backend, inputs.x, attrs.dataFormat);
  const dy = toNHWC(backend, inputs.dy, attrs.dataFormat);
  const g = patchGeometry(x.t.shape, { ...attrs, pad: padToNHWC(attrs.pad, attrs.dataFormat) }, false);
  const [fH, fW, c, cOut] = attrs.filterShape;
  const cols = im2colChannelsFirst(backend, x.t, g);
  const rows = cols.shape[1]!;
  const cols3 = reshape(backend, cols, [1, fH * fW * c, rows]);
  const dy3 = reshape(backend, dy.t, [1, rows, cOut]);
  const flat = runWasm(backend, 'BatchMatMul', { a: cols3, b: dy3 }, { transposeA: false, transposeB: false });
  const dW = reshape(backend, flat, [fH, fW, c, cOut]);
  release(backend, cols, cols3, dy3, flat);
  if (x.owned) release(backend, x.t);
  if (dy.owned) release(backend, dy.t);
  return dW;
};
