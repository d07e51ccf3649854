import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '@detkit/core';
import type { RoiPredictions } from '@detkit/detectors';
import type { PointOutputs } from './kd-loss.js';

/**
 * A CNN student's RoI outputs in the teacher's format, so the homogeneous loss
 * (`kdSegmentLosses`) applies unchanged:
 *
 * - Class: the student's C foreground logits, background dropped. softmax over them is the
 *   student's class distribution *given foreground*; the KL compares it with the teacher's
 *   softmax(c_t / T) at the same temperature. The background logit gets no distillation signal:
 *   a sigmoid-focal DETR has no background probability to match (max_c sigmoid is a confidence,
 *   not a calibrated complement), and the foreground weight w_i = max_c sigmoid(c_t) already
 *   mutes the points the teacher calls background. Background is learnt from L_det alone.
 * - Box: of the C class-specific boxes, the one for the teacher's top class (argmax of the
 *   teacher's logits, a constant): `[B,M,C,4] -> [B,M,4]` through a one-hot mask.
 */
export function studentAtTeacherClass(teacher: PointOutputs, student: RoiPredictions): PointOutputs {
  const [b, m, c] = teacher.logits.shape;
  if (student.logits.shape.join() !== [b, m, c + 1].join() || student.boxes.shape.join() !== [b, m, c, 4].join()) {
    throw new DetkitError(
      'MODEL_CONTRACT',
      `kd-detr-hetero: the student returned logits [${student.logits.shape}] and boxes [${student.boxes.shape}] at the teacher's [${b},${m}] points with ${c} classes; ` +
        `the RoI contract needs [${b},${m},${c + 1}] (background last) and [${b},${m},${c},4]`,
    );
  }
  return tf.tidy(() => {
    const logits = tf.slice(student.logits, [0, 0, 0], [b, m, c]) as tf.Tensor3D;
    const top = tf.oneHot(tf.argMax(teacher.logits, -1), c) as tf.Tensor3D; // no gradient: teacher side
    const boxes = tf.sum(tf.mul(student.boxes, tf.expandDims(tf.cast(top, 'float32'), -1)), 2) as tf.Tensor3D;
    return { logits, boxes };
  });
}
