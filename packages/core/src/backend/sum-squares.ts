/**
 * sum(x^2) of a whole tensor as a scalar: one kernel (`DetkitSumSquares`) where the backend has
 * one (webgpu: ./webgpu/sum-squares.ts), else tf.sum(tf.square(x)). The global gradient norm
 * takes one per parameter: on a GPU, where a step is bound by dispatches, that halves its cost.
 */
import * as tf from '@tensorflow/tfjs-core';

export const SUM_SQUARES_KERNEL = 'DetkitSumSquares';

export function sumOfSquares(x: tf.Tensor): tf.Scalar {
  if (x.dtype === 'float32' && x.size > 0 && tf.getKernel(SUM_SQUARES_KERNEL, tf.getBackend()) !== undefined) {
    // The kernel returns shape [1] (as tfjs's own reductions); the reshape is free.
    return tf.tidy(() => tf.reshape(tf.engine().runKernel(SUM_SQUARES_KERNEL, { x }) as tf.Tensor, []));
  }
  return tf.sum(tf.square(x));
}
