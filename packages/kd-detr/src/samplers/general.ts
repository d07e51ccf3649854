import * as tf from '@tensorflow/tfjs-core';
import type { QuerySampler, SamplerContext } from './sampler.js';

export interface GeneralSamplerOptions {
  /** Number of random points per iteration (the paper uses 300 on COCO). */
  count?: number;
  /** Mean and standard deviation of the pre-sigmoid normal (reference: N(0, 1)). */
  mean?: number;
  std?: number;
  /** Run seed; the points of iteration k come from a hash of (seed, k). */
  seed?: number;
  /** Group name in loss-term names (default 'general'); distinct names let two general samplers coexist. */
  name?: string;
}

/**
 * General sampling q_g: random anchors that probe the teacher everywhere, background
 * included. Drawn from a normal in pre-sigmoid space (so boxes cluster near the image centre
 * with varied sizes), resampled every iteration, never learned. Deterministic per
 * (seed, iteration) so a resumed run sees the same points as an uninterrupted one.
 */
export class GeneralSampler implements QuerySampler {
  readonly name: string;
  readonly count: number;
  private readonly mean: number;
  private readonly std: number;
  private readonly seed: number;

  constructor(opts: GeneralSamplerOptions = {}) {
    this.count = opts.count ?? 300;
    this.mean = opts.mean ?? 0;
    this.std = opts.std ?? 1;
    this.seed = opts.seed ?? 0;
    this.name = opts.name ?? 'general';
    if (!Number.isInteger(this.count) || this.count <= 0) {
      throw new RangeError(`general sampler: count must be a positive integer, got ${opts.count}`);
    }
    if (!(this.std > 0) || !Number.isFinite(this.mean) || !Number.isInteger(this.seed)) {
      throw new RangeError(`general sampler: need std > 0, a finite mean and an integer seed, got std ${opts.std}, mean ${opts.mean}, seed ${opts.seed}`);
    }
  }

  sample(ctx: SamplerContext): tf.Tensor2D {
    return tf.randomNormal([this.count, 4], this.mean, this.std, 'float32', pointStreamSeed(this.seed, ctx.iter));
  }
}

/**
 * The random-op seed of iteration `iter` of a run seeded `seed`. A hash, not `seed + iter`:
 * with a sum, seed 1's stream is seed 0's shifted by one iteration, so "different seeds"
 * would distil through the same points.
 */
export function pointStreamSeed(seed: number, iter: number): number {
  let h = Math.imul(seed ^ 0x3c6ef372, 0x9e3779b1) ^ Math.imul(iter + 0x165667b1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) & 0x7fffffff;
}
