import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import { Module } from './module.js';
import { nextDefaultSeed } from './seed.js';

/**
 * torch.nn.Embedding: `weight` [numEmbeddings, dim], initialized N(0, 1). DETR-style query
 * embeddings usually read `weight` directly instead of calling forward.
 * Note: the gradient of gather needs UnsortedSegmentSum, which wasm lacks in tfjs 4.22 unless
 * detkit's backend kernels are registered.
 */
export class Embedding extends Module {
  readonly weight: tf.Variable<tf.Rank.R2>;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: { seed?: number } = {},
  ) {
    super();
    this.weight = this.param('weight', tf.randomNormal([numEmbeddings, embeddingDim], 0, 1, 'float32', opts.seed ?? nextDefaultSeed()));
  }

  /** ids: int32 tensor of any shape -> [...ids.shape, dim]. */
  forward(ids: tf.Tensor): tf.Tensor {
    if (ids.dtype !== 'int32') {
      throw new DetkitError('INVALID_ARGUMENT', `Embedding: ids must be int32, got ${ids.dtype}`);
    }
    return tf.gather(this.weight, ids);
  }
}
