import * as tf from '@tensorflow/tfjs-core';

/**
 * KD-DETR's foreground re-weighting (kd-detr-method.md section 5): each distillation point
 * counts as much as the teacher's highest class probability there, `w_i = max_c sigmoid(c_t)`
 * (sigmoid: every detector here uses focal classification). `[..., C]` logits -> `[...]`.
 * The teacher's logits are constants for the student, so the weights carry no gradient.
 */
export function foregroundWeights(teacherLogits: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.max(tf.sigmoid(teacherLogits), -1));
}
