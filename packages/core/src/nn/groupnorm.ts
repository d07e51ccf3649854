import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import { Module } from './module.js';

export interface GroupNormOptions {
  eps?: number;
  affine?: boolean;
}

/**
 * torch.nn.GroupNorm on channels-last tensors `[B, ..., C]` (NHWC here): statistics per image
 * and per group of C/numGroups consecutive channels, over all positions (biased variance, as
 * PyTorch); then a per-channel `weight` and `bias`. Deformable DETR's input projections use
 * GroupNorm(32, d): unlike batch norm it does not depend on the batch.
 */
export class GroupNorm extends Module {
  readonly weight?: tf.Variable;
  readonly bias?: tf.Variable;
  readonly eps: number;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    opts: GroupNormOptions = {},
  ) {
    super();
    if (!(Number.isInteger(numGroups) && numGroups >= 1 && numChannels % numGroups === 0)) {
      throw new DetkitError('INVALID_ARGUMENT', `GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    }
    this.eps = opts.eps ?? 1e-5;
    if (opts.affine ?? true) {
      this.weight = this.param('weight', tf.ones([numChannels]));
      this.bias = this.param('bias', tf.zeros([numChannels]));
    }
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (x.rank < 2 || x.shape[x.rank - 1] !== this.numChannels) {
      throw new DetkitError('INVALID_ARGUMENT', `GroupNorm: input [${x.shape}] must be [B, ..., ${this.numChannels}]`);
    }
    return tf.tidy(() => {
      const g = this.numGroups;
      const grouped = tf.reshape(x, [x.shape[0]!, -1, g, this.numChannels / g]);
      const { mean, variance } = tf.moments(grouped, [1, 3], true);
      let y = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, this.eps))), x.shape);
      if (this.weight) y = tf.mul(y, this.weight);
      if (this.bias) y = tf.add(y, this.bias);
      return y;
    });
  }
}
