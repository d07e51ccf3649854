/**
 * Fast BatchMatMul for wasm. The stock kernel only reaches XNNPACK's GEMM when neither operand
 * is transposed AND both batch sizes are 1; everything else (every matmul gradient, every
 * attention product) falls into a naive triple loop ~10x slower. We transpose operands
 * explicitly (cheap: O(size) vs O(M*N*K)) and fold or split batches so each product is one
 * plain 2-D GEMM on the fast path.
 */
import { broadcast_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { callKernel, release, reshape, transpose } from './wasm-ops.js';

/** Below this many multiply-adds the stock kernel's overhead is lower than ours. */
const TINY_MACS = 2048;

export interface MatMulShape {
  batchA: number;
  batchB: number;
  m: number;
  k: number;
  n: number;
  outShape: number[];
}

export function matMulShape(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatMulShape {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  return { batchA: util.sizeFromShape(outerA), batchB: util.sizeFromShape(outerB), m, k, n, outShape: [...outer, m, n] };
}

/**
 * `x` as a contiguous [batch, rows, cols] matrix stack: a reshape, or a transpose when the
 * operand is stored as [batch, cols, rows] (its matmul flag set). The caller releases it.
 */
function contiguousMatrices(backend: BackendWasm, x: TensorInfo, batch: number, rows: number, cols: number, transposed: boolean): TensorInfo {
  if (!transposed) return reshape(backend, x, [batch, rows, cols]);
  const stored = reshape(backend, x, [batch, cols, rows]);
  const t = transpose(backend, stored, [0, 2, 1]);
  release(backend, stored);
  return t;
}

/** The left operand as [batch, m, k]. */
export function plainA(backend: BackendWasm, a: TensorInfo, s: MatMulShape, batch: number, transposeA: boolean): TensorInfo {
  return contiguousMatrices(backend, a, batch, s.m, s.k, transposeA);
}

/** The right operand as [batch, k, n]. */
export function plainB(backend: BackendWasm, b: TensorInfo, s: MatMulShape, batch: number, transposeB: boolean): TensorInfo {
  return contiguousMatrices(backend, b, batch, s.k, s.n, transposeB);
}

/** Copies rows [start, start+count) of a contiguous tensor into a fresh tensor of `shape`. */
function copyRange(backend: BackendWasm, x: TensorInfo, start: number, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, x.dtype);
  const size = util.sizeFromShape(shape);
  const src = backend.typedArrayFromHeap(x);
  backend.typedArrayFromHeap(out).set(src.subarray(start, start + size));
  return out;
}

/**
 * Builds the replacement kernel around the stock one (`plain`), which is used only for
 * un-transposed, batch-1 products (its XNNPACK path) and for cases we do not handle.
 */
export function makeFastBatchMatMul(plain: KernelFunc): KernelFunc {
  const gemm = (backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo =>
    callKernel(plain, backend, { a, b }, { transposeA: false, transposeB: false });

  const fast = (args: Parameters<KernelFunc>[0]): TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA = false, transposeB = false } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    const s = matMulShape(a, b, transposeA, transposeB);
    const batch = Math.max(s.batchA, s.batchB);
    const stockIsFast = !transposeA && !transposeB && s.batchA === 1 && s.batchB === 1;
    const unsupported = a.dtype !== 'float32' || b.dtype !== 'float32' || (s.batchA !== s.batchB && s.batchA !== 1 && s.batchB !== 1);
    if (stockIsFast || unsupported || batch * s.m * s.n * s.k < TINY_MACS) {
      return callKernel(plain, backend, { a, b }, { transposeA, transposeB });
    }
    const a3 = plainA(backend, a, s, s.batchA, transposeA);
    const b3 = plainB(backend, b, s, s.batchB, transposeB);
    let out3: TensorInfo;
    if (s.batchB === 1) {
      // Shared right operand (weights): all batches are rows of one GEMM.
      const a2 = reshape(backend, a3, [1, s.batchA * s.m, s.k]);
      out3 = gemm(backend, a2, b3);
      release(backend, a2);
    } else if (s.batchA === 1) {
      // Shared left operand: lay the batches of b side by side, [k, batch*n], one GEMM.
      const bt = transpose(backend, b3, [1, 0, 2]);
      const b2 = reshape(backend, bt, [1, s.k, batch * s.n]);
      const wide = gemm(backend, a3, b2);
      const wide3 = reshape(backend, wide, [s.m, batch, s.n]);
      out3 = transpose(backend, wide3, [1, 0, 2]);
      release(backend, bt, b2, wide, wide3);
    } else {
      out3 = perBatchGemm(backend, a3, b3, s, batch, gemm);
    }
    release(backend, a3, b3);
    const out = reshape(backend, out3, s.outShape);
    release(backend, out3);
    return out;
  };
  return fast as unknown as KernelFunc;
}

/** One fast GEMM per batch entry, copying slices in and results out of the heap. */
function perBatchGemm(
  backend: BackendWasm,
  a3: TensorInfo,
  b3: TensorInfo,
  s: MatMulShape,
  batch: number,
  gemm: (backend: BackendWasm, a: TensorInfo, b: TensorInfo) => TensorInfo,
): TensorInfo {
  const out = backend.makeOutput([batch, s.m, s.n], 'float32');
  const mn = s.m * s.n;
  for (let i = 0; i < batch; i++) {
    const ai = copyRange(backend, a3, i * s.m * s.k, [1, s.m, s.k]);
    const bi = copyRange(backend, b3, i * s.k * s.n, [1, s.k, s.n]);
    const ri = gemm(backend, ai, bi);
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(ri), i * mn);
    release(backend, ai, bi, ri);
  }
  return out;
}
