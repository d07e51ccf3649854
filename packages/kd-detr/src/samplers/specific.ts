import * as tf from '@tensorflow/tfjs-core';
import type { QuerySampler, SamplerContext } from './sampler.js';

/** Identity whose gradient is zero: the anchors are data for the student, not a path back. */
const detach = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
});

/**
 * Specific sampling q_s: the teacher's own learned anchors, where it is most precise and
 * confident. Detached, so no gradient ever reaches the teacher through them, even when the
 * sampler runs inside the student's gradient tape.
 */
export class SpecificSampler implements QuerySampler {
  readonly name = 'specific';

  sample(ctx: SamplerContext): tf.Tensor2D {
    return detach(ctx.teacherAnchors) as tf.Tensor2D;
  }
}
