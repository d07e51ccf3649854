/**
 * Slice / SplitV for wasm. The stock kernels copy the WHOLE input out of the heap
 * (`readSync`) for every slice, then copy rows with one `subarray` per row: splitting a
 * `[8,100,256]` tensor in 4 along the last axis took ~1.3 ms (DAB-DETR's sine embeddings,
 * per-head concatenations and their gradients). Here: views on the heap, and a plain loop
 * for short contiguous runs. Strings fall back to the stock kernel.
 */
import { slice_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { callKernel } from './wasm-ops.js';

/** Below this run length an element loop beats `set(subarray(...))` (measured, V8 20). */
export const SHORT_RUN = 48;

/** Copies the box `begin`/`size` of contiguous x into a new tensor (numeric dtypes). */
export function sliceHeap(backend: BackendWasm, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const n = util.sizeFromShape(size);
  if (n === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const strides = util.computeStrides(x.shape);
  const rank = x.shape.length;
  if (rank === 0 || slice_util.isSliceContinous(x.shape, begin, size)) {
    const off = rank === 0 ? 0 : slice_util.computeFlatOffset(begin, strides);
    dst.set(src.subarray(off, off + n));
    return out;
  }
  // Fold trailing axes that are taken whole into one contiguous run.
  let inner = rank - 1;
  let run = size[inner]!;
  while (inner > 0 && size[inner] === x.shape[inner] && begin[inner] === 0) {
    inner--;
    run *= size[inner]!;
  }
  // `inner` is the innermost axis not taken whole; a run spans it and everything after it.
  const stride = (a: number) => (a === rank - 1 ? 1 : strides[a]!);
  const outer = size.slice(0, inner);
  const numRuns = util.sizeFromShape(outer);
  const idx = new Array<number>(inner).fill(0);
  let o = 0;
  for (let r = 0; r < numRuns; r++) {
    let from = 0;
    for (let a = 0; a < inner; a++) from += (begin[a]! + idx[a]!) * strides[a]!;
    from += begin[inner]! * stride(inner);
    if (run < SHORT_RUN) {
      for (let k = 0; k < run; k++) dst[o + k] = src[from + k]!;
    } else {
      dst.set(src.subarray(from, from + run), o);
    }
    o += run;
    for (let a = inner - 1; a >= 0; a--) {
      if (++idx[a]! < outer[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

export function makeFastSlice(stock: KernelFunc): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string') return callKernel(stock, backend, args.inputs as Record<string, TensorInfo>, args.attrs);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
    const [b, s] = slice_util.parseSliceParams(x as never, begin, size);
    return sliceHeap(backend, x, b, s);
  }) as unknown as KernelFunc;
}

export function makeFastSplitV(stock: KernelFunc): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string') return stock(args);
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const ax = util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = splitSizes(x.shape[ax]!, numOrSizeSplits);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[ax] = s;
      const part = sliceHeap(backend, x, begin, size);
      begin[ax]! += s;
      return part;
    });
  }) as unknown as KernelFunc;
}

/** tfjs's `prepareSplitSize`: equal parts, or sizes with at most one -1 to infer. */
function splitSizes(dim: number, split: number | number[]): number[] {
  if (typeof split === 'number') return new Array<number>(split).fill(dim / split);
  const known = split.reduce((acc, v) => (v === -1 ? acc : acc + v), 0);
  return split.map((v) => (v === -1 ? dim - known : v));
}
