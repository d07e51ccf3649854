/**
 * Tile for wasm. The stock kernel computes every output element's source index (~70 ns per
 * element: 7 ms to repeat a [1,100,128] query tensor 8 times). Here: the trailing axes that
 * are not repeated form contiguous runs, copied with `set`, and repeats copy whole blocks.
 */
import { util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type Numeric = Float32Array | Int32Array | Uint8Array;

/**
 * Writes x tiled by `reps` into dst (row-major, output shape x.shape[i] * reps[i]). Each level
 * first writes one copy of its block from the level below, then repeats that block.
 */
function tileInto(src: Numeric, shape: number[], reps: number[], dst: Numeric): void {
  const rank = shape.length;
  const outShape = shape.map((s, i) => s * reps[i]!);
  const srcStrides = [...util.computeStrides(shape), 1];
  const dstStrides = [...util.computeStrides(outShape), 1];
  const copy = (axis: number, from: number, to: number): void => {
    if (axis === rank) {
      dst[to] = src[from]!;
      return;
    }
    // Trailing axes without repeats: one contiguous run.
    if (reps.slice(axis).every((r) => r === 1)) {
      const n = util.sizeFromShape(shape.slice(axis));
      dst.set(src.subarray(from, from + n), to);
      return;
    }
    const block = shape[axis]! * dstStrides[axis]!;
    for (let i = 0; i < shape[axis]!; i++) copy(axis + 1, from + i * srcStrides[axis]!, to + i * dstStrides[axis]!);
    for (let r = 1; r < reps[axis]!; r++) dst.copyWithin(to + r * block, to, to + block);
  };
  copy(0, 0, 0);
}

export function makeFastTile(stock: KernelFunc): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { reps } = args.attrs as unknown as { reps: number[] };
    if (x.dtype === 'string' || reps.length !== x.shape.length) return stock(args);
    const out = backend.makeOutput(x.shape.map((s, i) => s * reps[i]!), x.dtype);
    if (util.sizeFromShape(out.shape) === 0) return out;
    tileInto(backend.typedArrayFromHeap(x), [...x.shape], reps, backend.typedArrayFromHeap(out));
    return out;
  }) as unknown as KernelFunc;
}
