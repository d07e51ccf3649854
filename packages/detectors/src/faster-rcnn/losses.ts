import * as tf from '@tensorflow/tfjs-core';

/**
 * Faster R-CNN's loss pieces as dense, masked tensor sums: the sampled boxes are host masks
 * (constants), so no gather is needed and every sum has a plain gradient.
 */

/**
 * Smooth L1 with transition `beta` (torchvision: 0.5 x^2 / beta below beta, |x| - beta / 2
 * above), written as `0.5 m^2 / beta + (|x| - m)` with `m = min(|x|, beta)`: no `tf.where`
 * on taped values.
 */
export function smoothL1(x: tf.Tensor, beta: number): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(x);
    if (beta <= 0) return a;
    const m = tf.minimum(a, tf.fill(a.shape, beta));
    return tf.add(tf.mul(tf.square(m), 0.5 / beta), tf.sub(a, m));
  });
}

/** Binary cross-entropy with logits, elementwise: `max(x, 0) - x z + log(1 + exp(-|x|))`. */
export function bceWithLogits(x: tf.Tensor, z: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.sub(tf.relu(x), tf.mul(x, z)), tf.log1p(tf.exp(tf.neg(tf.abs(x))))));
}

/** Softmax cross-entropy `[R,K]` logits against one-hot `[R,K]` targets, mean over R. */
export function softmaxCrossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.div(tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)))), Math.max(logits.shape[0], 1)) as tf.Scalar);
}
