import * as tf from '@tensorflow/tfjs-core';
import { fusedLayerNorm } from '../backend/layer-norm.js';
import { DetkitError } from '../errors.js';
import { Module } from './module.js';

export interface LayerNormOptions {
  eps?: number;
  elementwiseAffine?: boolean;
}

/**
 * torch.nn.LayerNorm over the trailing `normalizedShape` dims (biased variance, as PyTorch).
 * Over the last axis with weight and bias, on a backend with the fused kernel (webgpu), one
 * program forward and three backward (../backend/layer-norm.ts); elsewhere composed tfjs ops.
 */
export class LayerNorm extends Module {
  readonly weight?: tf.Variable;
  readonly bias?: tf.Variable;
  readonly normalizedShape: number[];
  readonly eps: number;

  constructor(normalizedShape: number | number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    this.eps = opts.eps ?? 1e-5;
    if (opts.elementwiseAffine ?? true) {
      this.weight = this.param('weight', tf.ones(this.normalizedShape));
      this.bias = this.param('bias', tf.zeros(this.normalizedShape));
    }
  }

  forward(x: tf.Tensor): tf.Tensor {
    const k = this.normalizedShape.length;
    if (!tf.util.arraysEqual(x.shape.slice(x.rank - k), this.normalizedShape)) {
      throw new DetkitError('INVALID_ARGUMENT', `LayerNorm: input shape [${x.shape}] does not end with [${this.normalizedShape}]`);
    }
    if (k === 1 && this.weight && this.bias) {
      const fused = fusedLayerNorm(x, this.weight, this.bias, this.eps);
      if (fused) return fused;
    }
    return tf.tidy(() => {
      const axes = Array.from({ length: k }, (_, i) => x.rank - k + i);
      const { mean, variance } = tf.moments(x, axes, true);
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      if (this.weight) y = tf.mul(y, this.weight);
      if (this.bias) y = tf.add(y, this.bias);
      return y;
    });
  }
}
