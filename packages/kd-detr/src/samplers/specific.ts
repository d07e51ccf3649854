import type * as tf from '@tensorflow/tfjs-core';
import { detach } from '../util/detach.js';
import type { PointAnchors, PointContent, QuerySampler, SamplerContext } from './sampler.js';

/**
 * Specific sampling q_s: the teacher's own detection anchors, where it is most precise and
 * confident (learned `[Q,4]`, or DINO's per-image selection `[B,Q,4]`; the student cannot read
 * the teacher's content vectors: with content 'learned' each model brings its own). Detached, so no gradient ever reaches the teacher through them, even when the
 * sampler runs inside the student's gradient tape.
 */
export class SpecificSampler implements QuerySampler {
  readonly name: string;
  readonly content: PointContent;

  /**
   * `name`: group name in loss-term names (default 'specific'). `content`: 'zeros' (default) or
   * 'learned', each model's own detection-query content (see PointContent): for DINO, whose
   * queries carry learned content, zero-content queries at its own anchors are not its detections.
   */
  constructor(opts: { name?: string; content?: PointContent } = {}) {
    this.name = opts.name ?? 'specific';
    this.content = opts.content ?? 'zeros';
  }

  sample(ctx: SamplerContext): PointAnchors {
    return detach(ctx.teacherAnchors);
  }
}
