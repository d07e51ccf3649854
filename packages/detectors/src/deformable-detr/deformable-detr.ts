import * as tf from '@tensorflow/tfjs-core';
import { Embedding } from '@detkit/core';
import type { DecodeOptions, DecodeResult, Encoded, QueryGroup, QueryGroupDetector } from '../contract/query-groups.js';
import type { DetrCommonOptions } from '../detr/detr-base.js';
import { decodeQueryBlocks } from '../detr/query-blocks.js';
import { subSeed } from '../transformer/encoder.js';
import { MultiScaleSetPredictor } from './multi-scale-detector.js';
import { DeformableTransformer } from './transformer.js';
import { checkDeformableOptions } from './validate.js';

export interface DeformableDetrOptions extends DetrCommonOptions {
  /** Feature levels: the backbone's last levels plus at most one extra stride-2 level (default 4). */
  numFeatureLevels?: number;
  /** Sampling points per head and level, in encoder and decoder (default 4). */
  numPoints?: number;
  /** GroupNorm groups in the input projections (default 32; must divide hiddenDim). */
  groupNormGroups?: number;
  /** Two-stage Deformable DETR (encoder proposals as queries). Not implemented yet: true fails. */
  twoStage?: boolean;
}

export type { DeformableEncoded } from './multi-scale-detector.js';

/**
 * Deformable DETR (Zhu et al., ICLR 2021) with DAB-style 4-d anchor queries (`refpoint_embed`,
 * pre-sigmoid `[Q,4]`, zero content) and iterative box refinement (a class and a box head per
 * decoder layer: `class_embed.l`, `bbox_embed.l`). Multi-scale memory from the backbone's last
 * levels plus one extra stride-2 level (`input_proj.i`: conv + GroupNorm), a deformable
 * encoder and decoder (core's fused `msDeformAttn` kernel), sigmoid focal classification with
 * auxiliary losses. Implements the query-group contract: an anchor becomes the layer's
 * reference box and its positional query `ref_point_head(sine(box))`, exactly like the
 * detection queries; groups are isolated in self-attention by blocks, and deformable
 * cross-attention is per query. Training loss and prediction as DETR's (SetPredictionDetector).
 */
export class DeformableDetr extends MultiScaleSetPredictor<DeformableTransformer> implements QueryGroupDetector {
  readonly refpointEmbed: Embedding;

  constructor(opts: DeformableDetrOptions) {
    super('deformable-detr', opts, checkDeformableOptions(opts), 1024, (t) => new DeformableTransformer(t));
    this.refpointEmbed = this.module('refpoint_embed', new Embedding(this.numQueries, 4, { seed: subSeed(opts.seed, 6) }));
  }

  detectionQueries(): QueryGroup {
    return { anchors: this.refpointEmbed.weight };
  }

  decode(encoded: Encoded, groups: readonly QueryGroup[], options: DecodeOptions = {}): DecodeResult {
    const enc = this.ownEncoded(encoded);
    const B = enc.memory.shape[0];
    return decodeQueryBlocks(this, 'deformable-detr', B, groups, options, (queries) => {
      const { tgt, anchors, memory } = this.decoderInputs(enc, queries);
      const { hs, boxes } = this.transformer.decoder.forward(tgt, anchors, memory, this.bboxEmbed);
      const keep = options.finalLayerOnly ? hs.length - 1 : 0;
      return { logits: hs.slice(keep).map((h, k) => this.classEmbed[keep + k]!.forward(h) as tf.Tensor3D), boxes: boxes.slice(keep) };
    });
  }
}
