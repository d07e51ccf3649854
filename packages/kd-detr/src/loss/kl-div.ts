import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '@detkit/core';

/**
 * KD-DETR's classification distillation term per point (kd-detr-method.md section 6):
 * `KL(softmax(t/T) || softmax(s/T))` averaged over the C classes, times `T^2`
 * (PyTorch: `F.kl_div(log_softmax(s/T), softmax(t/T), reduction='none').mean(-1) * T*T`).
 * Logits are `[..., C]`; the result drops the class axis (`[N,C] -> [N]`).
 * The caller weights and sums over points, and keeps the teacher out of the gradient.
 */
export function klDivWithTemperature(teacherLogits: tf.Tensor, studentLogits: tf.Tensor, temperature: number): tf.Tensor {
  if (!(temperature > 0)) throw new DetkitError('INVALID_ARGUMENT', `klDivWithTemperature: temperature must be > 0, got ${temperature}`);
  if (teacherLogits.shape.join() !== studentLogits.shape.join()) {
    throw new DetkitError('INVALID_ARGUMENT', `klDivWithTemperature: teacher logits [${teacherLogits.shape}] and student logits [${studentLogits.shape}] differ in shape`);
  }
  return tf.tidy(() => {
    const logPt = tf.logSoftmax(tf.div(teacherLogits, temperature));
    const logPs = tf.logSoftmax(tf.div(studentLogits, temperature));
    // p_t * (log p_t - log p_s); logSoftmax keeps this finite when p_t underflows to 0.
    const kl = tf.mul(tf.exp(logPt), tf.sub(logPt, logPs));
    return tf.mul(tf.mean(kl, -1), temperature * temperature);
  });
}
