import * as tf from '@tensorflow/tfjs-core';
import { Module } from './module.js';
import { linear } from './functional.js';
import { torchDefaultBias, torchDefaultWeight } from './init.js';

export interface LinearOptions {
  bias?: boolean;
  /** Seed for weight init (bias uses seed + 1); default: the global seed stream. */
  seed?: number;
}

/**
 * Fully connected layer. `weight` is [out, in] and `bias` [out], exactly as torch.nn.Linear,
 * so state dicts move between the two unchanged. Accepts inputs of any rank (last dim = in).
 */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const s = opts.seed;
    this.weight = this.param('weight', torchDefaultWeight([outFeatures, inFeatures], inFeatures, { seed: s }));
    if (opts.bias ?? true) {
      this.bias = this.param('bias', torchDefaultBias([outFeatures], inFeatures, { seed: s === undefined ? undefined : s + 1 }));
    }
  }

  forward(x: tf.Tensor): tf.Tensor {
    return linear(x, this.weight, this.bias);
  }
}
