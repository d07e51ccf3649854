/**
 * DepthwiseConv2dNativeBackpropFilter for wasm:
 * dW[i,j,c,m] = sum_P cols[(i,j), c, P] * dy[P, c*mult + m].
 * Each channel only meets its own dy columns, so this is a batched dot product rather than one
 * GEMM: broadcast multiply [taps, C, 1, P] x [1, C, mult, P] and reduce the contiguous last
 * axis (wasm Sum reduces the innermost axis without a transpose).
 */
import type { KernelFunc } from '@tensorflow/tfjs-core';
import { filterGradFromPatches } from './conv-geometry.js';
import { release, reshape, runWasm, transpose } from './wasm-ops.js';

export const depthwiseBackpropFilterWasm: KernelFunc = (args) =>
  filterGradFromPatches(args, true, ({ backend, cols, dy, filterShape: [fH, fW, c, mult] }) => {
    const p = cols.shape[1]!;
    const cols4 = reshape(backend, cols, [fH * fW, c, 1, p]);
    const dy3 = reshape(backend, dy, [p, c, mult]);
    const dyT = transpose(backend, dy3, [1, 2, 0]); // [C, mult, P]
    const dy4 = reshape(backend, dyT, [1, c, mult, p]);
    const prod = runWasm(backend, 'Multiply', { a: cols4, b: dy4 });
    const summed = runWasm(backend, 'Sum', { x: prod }, { axis: [3], keepDims: false });
    const dW = reshape(backend, summed, [fH, fW, c, mult]);
    release(backend, cols4, dy3, dyT, dy4, prod, summed);
    return dW;
  });
