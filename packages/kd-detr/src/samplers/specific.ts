import type * as tf from '@tensorflow/tfjs-core';
import { detach } from '../util/detach.js';
import type { QuerySampler, SamplerContext } from './sampler.js';

/**
 * Specific sampling q_s: the teacher's own learned anchors, where it is most precise and
 * confident. Detached, so no gradient ever reaches the teacher through them, even when the
 * sampler runs inside the student's gradient tape.
 */
export class SpecificSampler implements QuerySampler {
  readonly name: string;

  /** `name`: group name in loss-term names (default 'specific'). */
  constructor(opts: { name?: string } = {}) {
    this.name = opts.name ?? 'specific';
  }

  sample(ctx: SamplerContext): tf.Tensor2D {
    return detach(ctx.teacherAnchors);
  }
}
