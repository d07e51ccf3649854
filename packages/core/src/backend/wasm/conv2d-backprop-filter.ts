/**
 * Conv2DBackpropFilter for wasm: dW[fH,fW,C,Cout] = im2col(x)ᵀ-layout [fH*fW*C, P] @ dy[P, Cout],
 * one plain GEMM on XNNPACK. Measured against the alternative (a dilated convolution of the
 * transposed input by the transposed dy) in bench/kernels.ts; see the report there.
 * Accepts an optional `dilations` attr (tfjs's conv2d gradient rejects dilation > 1 today).
 */
import type { KernelFunc } from '@tensorflow/tfjs-core';
import { filterGradFromPatches } from './conv-geometry.js';
import { release, reshape, runWasm } from './wasm-ops.js';

export const conv2DBackpropFilterWasm: KernelFunc = (args) =>
  filterGradFromPatches(args, false, ({ backend, cols, dy, filterShape: [fH, fW, c, cOut] }) => {
    const rows = cols.shape[1]!;
    const cols3 = reshape(backend, cols, [1, fH * fW * c, rows]);
    const dy3 = reshape(backend, dy, [1, rows, cOut]);
    const flat = runWasm(backend, 'BatchMatMul', { a: cols3, b: dy3 }, { transposeA: false, transposeB: false });
    const dW = reshape(backend, flat, [fH, fW, c, cOut]);
    release(backend, cols3, dy3, flat);
    return dW;
  });
