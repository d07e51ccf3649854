import type * as tf from '@tensorflow/tfjs-core';
import { detach } from '../util/detach.js';
import type { PointAnchors, QuerySampler, SamplerContext } from './sampler.js';

/**
 * Specific sampling q_s: the teacher's own detection anchors, where it is most precise and
 * confident (learned `[Q,4]`, or DINO's per-image selection `[B,Q,4]`; as anchors only: the
 * student cannot read the teacher's content vectors). Detached, so no gradient ever reaches the teacher through them, even when the
 * sampler runs inside the student's gradient tape.
 */
export class SpecificSampler implements QuerySampler {
  readonly name: string;

  /** `name`: group name in loss-term names (default 'specific'). */
  constructor(opts: { name?: string } = {}) {
    this.name = opts.name ?? 'specific';
  }

  sample(ctx: SamplerContext): PointAnchors {
    return detach(ctx.teacherAnchors);
  }
}
