/**
 * Concat for wasm. The stock kernel copies with one `subarray` + `set` per (outer index, input):
 * concatenating two `[8,64,8,16]` tensors per head along the last axis (DAB-DETR's cross-attention
 * queries and keys) took ~0.7 ms for 16 K floats. Here a plain loop copies short runs. Strings
 * and single non-empty inputs fall back to the stock kernel.
 */
import { backend_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { callKernel } from './wasm-ops.js';
import { SHORT_RUN } from './slice.js';

export function makeFastConcat(stock: KernelFunc): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const backend = args.backend as BackendWasm;
    const inputs = args.inputs as unknown as TensorInfo[];
    const nonEmpty = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
    if (inputs.length === 0 || inputs[0]!.dtype === 'string' || nonEmpty.length < 2) return stock(args);
    const axis = util.parseAxisParam((args.attrs as { axis: number | number[] }).axis, inputs[0]!.shape)[0]!;
    backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
    const outShape = backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
    const out = backend.makeOutput(outShape, inputs[0]!.dtype);
    const outer = util.sizeFromShape(nonEmpty[0]!.shape.slice(0, axis));
    const inner = nonEmpty.map((t) => util.sizeFromShape(t.shape.slice(axis)));
    const width = inner.reduce((a, v) => a + v, 0);
    // Views taken after makeOutput: allocation may grow (and move) the heap.
    const dst = backend.typedArrayFromHeap(out);
    let col = 0;
    nonEmpty.forEach((t, i) => {
      const src = backend.typedArrayFromHeap(t);
      const run = inner[i]!;
      for (let r = 0; r < outer; r++) {
        const from = r * run;
        const to = r * width + col;
        if (run < SHORT_RUN) for (let k = 0; k < run; k++) dst[to + k] = src[from + k]!;
        else dst.set(src.subarray(from, from + run), to);
      }
      col += run;
    });
    return out;
  }) as unknown as KernelFunc;
}

