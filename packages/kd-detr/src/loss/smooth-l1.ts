import * as tf from '@tensorflow/tfjs-core';

/**
 * Elementwise smooth L1 (Huber with PyTorch's `SmoothL1Loss(beta)` convention):
 * `0.5 d^2 / beta` where `|d| < beta`, else `|d| - 0.5 beta`. Quadratic near zero so small box
 * differences give small gradients; the reference's GT-matched KD baseline uses beta = 1/9.
 */
export function smoothL1(pred: tf.Tensor, target: tf.Tensor, beta: number): tf.Tensor {
  // With m = min(d, beta): 0.5 m^2 / beta + (d - m) is both branches in one expression, built
  // from ops that all have tfjs gradients (a where(less(...)) would need Less's, which is missing).
  return tf.tidy(() => {
    const d = tf.abs(tf.sub(pred, target));
    const m = tf.minimum(d, beta);
    return tf.add(tf.div(tf.mul(tf.square(m), 0.5), beta), tf.sub(d, m));
  });
}
