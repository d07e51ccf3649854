import { DetkitError } from '@detkit/core';
import type { PointAnchors, QuerySampler } from './sampler.js';

/**
 * Proposal points, for heterogeneous KD-DETR only (kd-detr-method.md section 7: the paper takes
 * "the CNN student's anchors or proposals" as the shared points): the student's own candidate
 * boxes of the iteration (Faster R-CNN: its RPN proposals, detached), the best `count` per
 * image. They lie where the student's RoI head looks for objects, so the teacher's answer there
 * is a box the head can regress to; a random box far from any digit asks the head for a box it
 * cannot see. They exist only after the student's forward: `kd-detr-hetero` has the teacher
 * decode them in the loss step (from the encoder memory of `prepare`), not in `prepare`.
 */
export class ProposalSampler implements QuerySampler {
  readonly name: string;
  readonly count: number;
  readonly fromStudent = true;

  constructor(opts: { count?: number; name?: string } = {}) {
    this.count = opts.count ?? 100;
    this.name = opts.name ?? 'proposals';
    if (!(Number.isInteger(this.count) && this.count > 0)) {
      throw new DetkitError('CONFIG_INVALID', `sampler proposals: count must be a positive integer, got ${opts.count}`, { key: 'distill.samplers' });
    }
  }

  sample(): PointAnchors {
    throw new DetkitError(
      'CONFIG_INVALID',
      `distill.samplers: sampler '${this.name}' (type 'proposals') takes a CNN student's own proposals, which only method 'kd-detr-hetero' reads; use 'general' / 'specific' points with a DETR student`,
      { key: 'distill.samplers' },
    );
  }
}

export function isProposalSampler(s: QuerySampler): s is ProposalSampler {
  return (s as Partial<ProposalSampler>).fromStudent === true;
}
