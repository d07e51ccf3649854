/**
 * im2col in "channels first" layout, built from wasm kernels (transpose, pad, strided slice):
 * cols[(i*fW + j)*C + c, n*outH*outW + p*outW + q] = xPadded[n, p*sH + i*dH, q*sW + j*dW, c].
 * With this layout a filter gradient is ONE plain GEMM cols @ dy[P, Cout] (XNNPACK fast path,
 * no transposed operand) and its rows come out already in tfjs filter order [fH, fW, C, Cout].
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { release, runWasm, transpose } from './wasm-ops.js';

export interface PatchGeometry {
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
  outHeight: number;
  outWidth: number;
}

/** x: NHWC. Returns [fH*fW*C, N*outH*outW]; the caller releases it. */
export function im2colChannelsFirst(backend: BackendWasm, x: TensorInfo, g: PatchGeometry): TensorInfo {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  // Rows/cols the taps reach, in padded coordinates; pad (or crop) x to exactly that.
  const needH = (g.outHeight - 1) * g.strideHeight + (g.filterHeight - 1) * g.dilationHeight + 1;
  const needW = (g.outWidth - 1) * g.strideWidth + (g.filterWidth - 1) * g.dilationWidth + 1;
  const xT = transpose(backend, x, [3, 0, 1, 2]); // [C, N, H, W]
  const padBottom = Math.max(0, needH - g.padTop - h);
  const padRight = Math.max(0, needW - g.padLeft - w);
  let xP = xT;
  if (g.padTop > 0 || g.padLeft > 0 || padBottom > 0 || padRight > 0) {
    const paddings = [[0, 0], [0, 0], [g.padTop, padBottom], [g.padLeft, padRight]];
    xP = runWasm(backend, 'PadV2', { x: xT }, { paddings, constantValue: 0 });
    release(backend, xT);
  }
  const taps = g.filterHeight * g.filterWidth;
  const tapSize = c * n * g.outHeight * g.outWidth;
  const cols = backend.makeOutput([taps * c, n * g.outHeight * g.outWidth], 'float32');
  for (let i = 0; i < g.filterHeight; i++) {
    for (let j = 0; j < g.filterWidth; j++) {
      const top = i * g.dilationHeight;
      const left = j * g.dilationWidth;
      const tap = runWasm(backend, 'StridedSlice', { x: xP }, {
        begin: [0, 0, top, left],
        end: [c, n, top + (g.outHeight - 1) * g.strideHeight + 1, left + (g.outWidth - 1) * g.strideWidth + 1],
        strides: [1, 1, g.strideHeight, g.strideWidth],
        beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
      });
      // Taps stack along the leading axis, so placing one is a contiguous copy.
      backend.typedArrayFromHeap(cols).set(backend.typedArrayFromHeap(tap), (i * g.filterWidth + j) * tapSize);
      release(backend, tap);
    }
  }
  release(backend, xP);
  return cols;
}
