/**
 * GatherV2 for wasm. The stock kernel computes every output element's source index: gathering
 * 800 RoIs of [7,7,64] took ~130 ms (Faster R-CNN's RoIAlign reorders its pooled RoIs with one
 * gather). Here: the axes after `axis` form one contiguous run per gathered index, copied with
 * `set`. batchDims > 0, strings and out-of-range indices go to the stock kernel (which raises
 * its own error for the latter).
 */
import { util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { SHORT_RUN } from './slice.js';

export function makeFastGatherV2(stock: KernelFunc): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const backend = args.backend as BackendWasm;
    const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims?: number };
    if (x.dtype === 'string' || (batchDims ?? 0) !== 0) return stock(args);
    const ax = util.parseAxisParam(axis, x.shape)[0]!;
    const size = x.shape[ax]!;
    const inRange = backend.typedArrayFromHeap(indices).every((i) => i >= 0 && i < size);
    if (!inRange) return stock(args);
    const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
    const out = backend.makeOutput(outShape, x.dtype);
    const outer = util.sizeFromShape(x.shape.slice(0, ax));
    const run = util.sizeFromShape(x.shape.slice(ax + 1));
    if (util.sizeFromShape(outShape) === 0) return out;
    // Views only after makeOutput: an allocation may grow the wasm heap, which detaches every
    // view taken before it (reads from a detached view give undefined, silently).
    const idx = backend.typedArrayFromHeap(indices);
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    let o = 0;
    for (let b = 0; b < outer; b++) {
      const base = b * size * run;
      for (let i = 0; i < idx.length; i++) {
        const from = base + idx[i]! * run;
        if (run < SHORT_RUN) {
          for (let k = 0; k < run; k++) dst[o + k] = src[from + k]!;
        } else {
          dst.set(src.subarray(from, from + run), o);
        }
        o += run;
      }
    }
    return out;
  }) as unknown as KernelFunc;
}
