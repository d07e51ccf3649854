import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import type { Rng } from '../registry/types.js';
import { Module } from './module.js';
import { type SeedSource, toSeedSource } from './seed.js';

/**
 * Inverted dropout (kept units scaled by 1/(1-p)); identity in eval mode or when p = 0, in
 * which case forward returns its input unchanged. Each call draws a fresh mask seed from the
 * given Rng / seed, so a run is reproducible from its root seed.
 */
export class Dropout extends Module {
  private readonly seeds: SeedSource;

  constructor(
    readonly p: number,
    seed?: Rng | SeedSource | number,
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new DetkitError('INVALID_ARGUMENT', `Dropout: p must be in [0, 1), got ${p}`);
    this.seeds = toSeedSource(seed);
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.p === 0) return x;
    return tf.dropout(x, this.p, undefined, this.seeds.nextSeed());
  }
}
