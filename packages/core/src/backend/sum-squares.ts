/**
 * sum(x^2) of a whole tensor as a scalar: one kernel (`DetkitSumSquares`) where the backend has
 * one (webgpu: ./webgpu/sum-squares.ts), else tf.sum(tf.square(x)). The global gradient norm
 * takes one per parameter: on a GPU, where a step is bound by dispatches, that halves its cost.
 */
import * as tf from '@tensorflow/tfjs-core';

export const SUM_SQUARES_KERNEL = 'DetkitSumSquares';
export const SUM_SQUARES_MANY_KERNEL = 'DetkitSumSquaresMany';
/** Tensors per `DetkitSumSquaresMany` call (8 storage buffers per shader, WebGPU's default limit; one is the output). */
export const SUM_SQUARES_MANY_INPUTS = 7;

export function sumOfSquares(x: tf.Tensor): tf.Scalar {
  if (x.dtype === 'float32' && x.size > 0 && tf.getKernel(SUM_SQUARES_KERNEL, tf.getBackend()) !== undefined) {
    // The kernel returns shape [1] (as tfjs's own reductions); the reshape is free.
    return tf.tidy(() => tf.reshape(tf.engine().runKernel(SUM_SQUARES_KERNEL, { x }) as tf.Tensor, []));
  }
  return tf.sum(tf.square(x));
}

/**
 * sum over the tensors of sum(x^2), as a scalar. With `DetkitSumSquaresMany` (webgpu) seven
 * tensors per kernel; elsewhere the per-tensor sums added in order, exactly as before (a run
 * resumed on wasm reproduces its losses bit for bit).
 */
export function totalSumOfSquares(xs: readonly tf.Tensor[]): tf.Scalar {
  const many = tf.getKernel(SUM_SQUARES_MANY_KERNEL, tf.getBackend()) !== undefined && xs.every((x) => x.dtype === 'float32' && x.size > 0);
  if (!many) return tf.tidy(() => tf.addN(xs.map((x) => sumOfSquares(x)))) as tf.Scalar;
  return tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < xs.length; i += SUM_SQUARES_MANY_INPUTS) {
      const chunk = xs.slice(i, i + SUM_SQUARES_MANY_INPUTS);
      parts.push(tf.engine().runKernel(SUM_SQUARES_MANY_KERNEL, Object.fromEntries(chunk.map((x, k) => [`x${k}`, x]))) as tf.Tensor);
    }
    return tf.sum(parts.length === 1 ? parts[0]! : tf.concat(parts));
  });
}
