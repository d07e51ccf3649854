/**
 * im2col in "channels first" layout (wasm transpose + pad, then a typed-array gather):
 * cols[(i*fW + j)*C + c, n*outH*outW + p*outW + q] = xPadded[n, p*sH + i*dH, q*sW + j*dW, c].
 * (row-major [tap, c, n, p, q]). A filter gradient is then ONE plain GEMM cols @ dy[P, Cout]
 * (XNNPACK fast path, no transposed operand) whose rows are already in filter order [fH,fW,C,Cout].
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
  const cols = backend.makeOutput([taps * c, n * g.outHeight * g.outWidth], 'float32');
  // A typed-array gather on the heap: the wasm StridedSlice kernel takes its generic path
  // here (~140 ns/element, measured), ten times slower than this loop.
  const src = backend.typedArrayFromHeap(xP);
  const dst = backend.typedArrayFromHeap(cols);
  const [, , hp, wp] = xP.shape as [number, number, number, number];
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = g;
  let o = 0;
  for (let i = 0; i < g.filterHeight; i++) {
    for (let j = 0; j < g.filterWidth; j++) {
      for (let plane = 0; plane < c * n; plane++) {
        for (let p = 0; p < oh; p++) {
          let from = (plane * hp + p * sh + i * g.dilationHeight) * wp + j * g.dilationWidth;
          for (let q = 0; q < ow; q++, from += sw) dst[o++] = src[from]!;
        }
      }
    }
  }
  release(backend, xP);
  return cols;
}
