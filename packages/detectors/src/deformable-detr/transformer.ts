import * as tf from '@tensorflow/tfjs-core';
import { Module } from '@detkit/core';
import { subSeed } from '../transformer/encoder.js';
import { DeformableDecoder } from './decoder.js';
import { DeformableEncoder, type DeformableLayerOptions } from './encoder.js';

/** The reference's `transformer`: `level_embed` `[L,d]`, `encoder`, `decoder` (names as the reference). */
export class DeformableTransformer extends Module {
  readonly levelEmbed: tf.Variable<tf.Rank.R2>;
  readonly encoder: DeformableEncoder;
  readonly decoder: DeformableDecoder;

  constructor(opts: DeformableLayerOptions & { numEncoderLayers: number; numDecoderLayers: number }) {
    super();
    this.levelEmbed = this.param('level_embed', tf.randomNormal([opts.numLevels, opts.dModel], 0, 1, 'float32', subSeed(opts.seed, 30) ?? undefined));
    this.encoder = this.module('encoder', new DeformableEncoder({ ...opts, numLayers: opts.numEncoderLayers, seed: subSeed(opts.seed, 2) }));
    this.decoder = this.module('decoder', new DeformableDecoder({ ...opts, numLayers: opts.numDecoderLayers, seed: subSeed(opts.seed, 3) }));
  }
}
