import * as tf from '@tensorflow/tfjs-core';
import { Embedding, LayerNorm, Linear, MLP, Module } from '@detkit/core';
import { initClassBiasToPrior, zeroLastLayer } from '../detr/set-prediction.js';
import { DeformableEncoder, type DeformableLayerOptions } from '../deformable-detr/encoder.js';
import { subSeed } from '../transformer/encoder.js';
import { DinoDecoder } from './decoder.js';
import type { EncoderOutputHead } from './query-selection.js';

/**
 * DINO's `transformer` (reference names): `level_embed`, the deformable `encoder`, the
 * `decoder`, the two-stage head on the encoder output (`enc_output`, `enc_output_norm`,
 * `enc_out_class_embed`, `enc_out_bbox_embed`: its own copies, not the decoder's heads) and the
 * learned content of the matching queries (`tgt_embed`, `[Q,d]`).
 */
export class DinoTransformer extends Module {
  readonly levelEmbed: tf.Variable<tf.Rank.R2>;
  readonly encoder: DeformableEncoder;
  readonly decoder: DinoDecoder;
  readonly head: EncoderOutputHead;
  readonly tgtEmbed: Embedding;

  constructor(opts: DeformableLayerOptions & { numEncoderLayers: number; numDecoderLayers: number; numQueries: number; numClasses: number }) {
    super();
    const d = opts.dModel;
    const seed = opts.seed;
    this.levelEmbed = this.param('level_embed', tf.randomNormal([opts.numLevels, d], 0, 1, 'float32', subSeed(seed, 30) ?? undefined));
    this.encoder = this.module('encoder', new DeformableEncoder({ ...opts, numLayers: opts.numEncoderLayers, seed: subSeed(seed, 2) }));
    this.decoder = this.module('decoder', new DinoDecoder({ ...opts, numLayers: opts.numDecoderLayers, seed: subSeed(seed, 3) }));
    this.head = {
      encOutput: this.module('enc_output', new Linear(d, d, { seed: subSeed(seed, 40) })),
      encOutputNorm: this.module('enc_output_norm', new LayerNorm(d)),
      classEmbed: this.module('enc_out_class_embed', new Linear(d, opts.numClasses, { seed: subSeed(seed, 41) })),
      bboxEmbed: this.module('enc_out_bbox_embed', new MLP(d, d, 4, 3, { seed: subSeed(seed, 42) })),
    };
    // As the decoder's heads they are copied from: prior class bias, zero last box layer (a token's first box is its proposal).
    initClassBiasToPrior(this.head.classEmbed);
    zeroLastLayer(this.head.bboxEmbed);
    this.tgtEmbed = this.module('tgt_embed', new Embedding(opts.numQueries, d, { seed: subSeed(seed, 43) }));
  }
}
