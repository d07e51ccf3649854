/**
 * UnsortedSegmentSum for wasm (the gradient of gather): out[seg[r]] += x[r] row by row, on
 * typed-array views of the wasm heap. This is O(size(x)) with contiguous row adds, where a
 * one-hot matmul would cost O(numSegments * size(x)) plus building the one-hot; see
 * bench/kernels.ts for the measured comparison. Ids outside [0, numSegments) are dropped, as in TF.
 */
import { util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const unsortedSegmentSumWasm: KernelFunc = (args) => {
  const backend = args.backend as BackendWasm;
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = args.attrs as unknown as { numSegments: number };
  const rows = util.sizeFromShape(segmentIds.shape);
  const rowShape = x.shape.slice(segmentIds.shape.length);
  const rowSize = util.sizeFromShape(rowShape);
  const out = backend.makeOutput([numSegments, ...rowShape], x.dtype);
  // Views taken after makeOutput: an allocation may grow (and detach) the heap.
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  dst.fill(0);
  for (let r = 0; r < rows; r++) {
    const s = ids[r]!;
    if (s < 0 || s >= numSegments) continue;
    const o = s * rowSize;
    const i = r * rowSize;
    for (let k = 0; k < rowSize; k++) dst[o + k]! += src[i + k]!;
  }
  return out;
};
