import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import { Module } from './module.js';
import { Linear } from './linear.js';
import { type ActivationName, getActivation } from './activations.js';

/**
 * DETR's MLP: `numLayers` Linear layers (`layers.0`, `layers.1`, ...) with an activation
 * (ReLU by default) between them and none after the last, e.g. the box head.
 */
export class MLP extends Module {
  readonly layers: Linear[];
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(inDim: number, hiddenDim: number, outDim: number, numLayers: number, opts: { activation?: ActivationName; seed?: number } = {}) {
    super();
    if (!(numLayers >= 1)) throw new DetkitError('INVALID_ARGUMENT', `MLP: numLayers must be >= 1, got ${numLayers}`);
    const dims = [inDim, ...Array<number>(numLayers - 1).fill(hiddenDim), outDim];
    const s = opts.seed;
    this.layers = this.moduleList(
      'layers',
      dims.slice(0, -1).map((d, i) => new Linear(d, dims[i + 1]!, { seed: s === undefined ? undefined : s + 2 * i })),
    );
    this.act = getActivation(opts.activation ?? 'relu');
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = x;
      this.layers.forEach((l, i) => {
        h = l.forward(h);
        if (i < this.layers.length - 1) h = this.act(h);
      });
      return h;
    });
  }
}
