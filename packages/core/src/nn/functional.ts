import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';

/**
 * Plain tensor functions behind the layers. Kept separate so detectors can call them on
 * weights they hold themselves (e.g. attention in_proj slices) without building a Module.
 */

export type LinearMatmulMode = 'auto' | 'flags' | 'explicit';
let matmulMode: LinearMatmulMode = 'auto';

/**
 * How `linear` computes x @ W^T. Stock wasm (tfjs 4.22) runs a matmul with transposeA/B ~8x
 * slower than a plain one, and tfjs's matmul gradients use those flags; 'explicit' transposes
 * with a cheap copy instead so the forward and both backward matmuls are plain. detkit's wasm
 * kernels (backend/wasm) make flagged matmuls fast, and there 'flags' wins (measured 400x512
 * -> 128 fwd+bwd: ~5 ms flags vs ~18 ms explicit; stock kernels: ~69 ms flags vs ~8 ms
 * explicit). 'auto' (default) picks 'explicit' only on wasm without detkit's BatchMatMul.
 */
export function setLinearMatmulMode(mode: LinearMatmulMode): void {
  matmulMode = mode;
}

/** Back-compat shorthand: true = 'flags', false = 'auto'. */
export function setLinearUsesTransposeFlags(on: boolean): void {
  matmulMode = on ? 'flags' : 'auto';
}

/** backend/wasm/install.ts marks its kernels with this global symbol. */
const DETKIT_KERNEL_MARK = Symbol.for('detkit.wasmKernel');

function useTransposeFlags(): boolean {
  if (matmulMode !== 'auto') return matmulMode === 'flags';
  if (tf.getBackend() !== 'wasm') return true;
  const k = tf.getKernel('BatchMatMul', 'wasm');
  return k !== undefined && (k.kernelFunc as unknown as Record<symbol, unknown>)[DETKIT_KERNEL_MARK] !== undefined;
}

/** x[N, in] @ w[out, in]^T with a custom gradient made only of untransposed matmuls. */
const matMulTransposedB = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  const value = tf.matMul(x as tf.Tensor2D, tf.transpose(w as tf.Tensor2D));
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dx = tf.matMul(dy as tf.Tensor2D, sw);
      const dw = tf.matMul(tf.transpose(dy as tf.Tensor2D), sx);
      return [dx, dw];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;

/**
 * y = x @ weight^T + bias for x of any rank >= 1 with last dim `in`; weight is PyTorch-style
 * [out, in]. Higher-rank inputs are flattened to 2-D first: tfjs's broadcast matmul returns a
 * weight gradient with the batch dimension left in (see tfjs-notes.md).
 */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const [outF, inF] = weight.shape as [number, number];
  if (x.shape[x.rank - 1] !== inF) {
    throw new DetkitError('INVALID_ARGUMENT', `linear: input last dim ${x.shape[x.rank - 1]} != weight in-features ${inF} (input shape [${x.shape}])`);
  }
  return tf.tidy(() => {
    const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, inF]);
    let y: tf.Tensor;
    if (bias && tf.getBackend() === 'webgpu') {
      // The bias added inside the matmul program: one dispatch fewer per linear layer on a
      // backend bound by dispatches. wasm and cpu keep the separate add, bit for bit as before.
      y = tf.fused.matMul({ a: x2 as tf.Tensor2D, b: weight as tf.Tensor2D, transposeB: true, bias });
    } else {
      y = useTransposeFlags() ? tf.matMul(x2, weight, false, true) : matMulTransposedB(x2, weight);
      if (bias) y = tf.add(y, bias);
    }
    return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outF]);
  });
}
