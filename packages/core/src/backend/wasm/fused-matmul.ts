/**
 * Fast _FusedMatMul for wasm (bias/activation epilogue). Same trouble as BatchMatMul: the
 * stock kernel takes XNNPACK only for un-transposed batch-1 operands. We transpose explicitly
 * and fold a batch of `a` against shared weights into rows; a truly batched right operand
 * stays on the stock kernel (rare: fused matmuls multiply by weights).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { matMulShape, plainA, plainB } from './batch-matmul.js';
import { callKernel, release, reshape } from './wasm-ops.js';

export function makeFastFusedMatMul(stock: KernelFunc): KernelFunc {
  const fast = (args: Parameters<KernelFunc>[0]): TensorInfo => {
    const backend = args.backend as BackendWasm;
    const inputs = args.inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
    const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    const { a, b } = inputs;
    const transposeA = attrs.transposeA ?? false;
    const transposeB = attrs.transposeB ?? false;
    const s = matMulShape(a, b, transposeA, transposeB);
    const stockIsFast = !transposeA && !transposeB && s.batchA === 1;
    if (stockIsFast || s.batchB !== 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return callKernel(stock, backend, inputs as Record<string, TensorInfo>, attrs);
    }
    const a3 = plainA(backend, a, s, s.batchA, transposeA);
    const a2 = reshape(backend, a3, [1, s.batchA * s.m, s.k]);
    const b3 = plainB(backend, b, s, 1, transposeB);
    const flat = callKernel(stock, backend, { ...inputs, a: a2, b: b3 } as Record<string, TensorInfo>, {
      ...attrs,
      transposeA: false,
      transposeB: false,
    });
    const out = reshape(backend, flat, s.outShape);
    release(backend, a3, a2, b3, flat);
    return out;
  };
  return fast as unknown as KernelFunc;
}
