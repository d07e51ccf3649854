import * as tf from '@tensorflow/tfjs-core';
import { Embedding } from '@detkit/core';
import { inverseSigmoid } from '../box/boxOps.js';
import type { DecodeOptions, DecodeResult, Encoded, QueryGroup, QueryGroupDetector } from '../contract/query-groups.js';
import { DetrBase, type DetrCommonOptions } from '../detr/detr-base.js';
import { decodeQueryBlocks } from '../detr/query-blocks.js';
import { zeroLastLayer } from '../detr/set-prediction.js';
import { subSeed } from '../transformer/encoder.js';
import { DabDecoder } from './decoder.js';

export type DabDetrOptions = DetrCommonOptions;

/**
 * DAB-DETR (Liu et al., ICLR 2022): queries are learned 4-d anchor boxes (`refpoint_embed`,
 * pre-sigmoid `[Q,4]`) refined layer by layer; content queries start at zeros; class and box
 * heads are shared across layers with an auxiliary loss per layer. Implements the
 * query-group contract: extra groups of anchors are decoded in the same batched pass,
 * isolated by per-block self-attention (each group attends only to itself).
 *
 * Classification is sigmoid focal over C classes (no background logit), as in the reference.
 * Parameter names follow the reference, except that the backbone is `backbone.*` (reference:
 * `backbone.0.body.*`) and the shared box head exists once as `bbox_embed.*` (reference also
 * lists it as `transformer.decoder.bbox_embed.*`).
 */
export class DabDetr extends DetrBase implements QueryGroupDetector {
  readonly refpointEmbed: Embedding;
  readonly decoder: DabDecoder;

  constructor(opts: DabDetrOptions) {
    super('dab-detr', opts, true);
    this.decoder = this.transformer.add('decoder', new DabDecoder({ ...this.layerOptions(opts), numLayers: this.numDecoderLayers, seed: subSeed(opts.seed, 3) }));
    this.refpointEmbed = this.module('refpoint_embed', new Embedding(this.numQueries, 4, { seed: subSeed(opts.seed, 6) }));
    // Box head's last layer starts at zero: the first prediction is the anchor itself.
    zeroLastLayer(this.bboxEmbed);
  }

  detectionQueries(): QueryGroup {
    return { anchors: this.refpointEmbed.weight };
  }

  decode(encoded: Encoded, groups: readonly QueryGroup[], options: DecodeOptions = {}): DecodeResult {
    return decodeQueryBlocks(this, 'dab-detr', encoded.memory.shape[0], groups, options, (queries) => {
      // Batch 1 when the queries are the same for every image: the decoder runs the part
      // before the first cross-attention once (it broadcasts to the memory's batch after).
      // Per-image groups ([B,M,4]) come batched already.
      const shared = (t: tf.Tensor) => (t.rank === 2 ? tf.expandDims(t, 0) : t) as tf.Tensor3D;
      // Groups isolated by per-block self-attention (same result as a block-diagonal mask, cheaper).
      const { hs, references } = this.decoder.forward(shared(queries.content), shared(queries.anchors), encoded.memory, encoded.pos, this.bboxEmbed, {
        memoryKeyPaddingMask: encoded.mask,
        selfAttnBlocks: queries.blocks,
      });
      // A caller needing only the final layer (a teacher) is spared the earlier layers' heads.
      const keep = options.finalLayerOnly ? hs.length - 1 : 0;
      return this.heads(hs.slice(keep), references.slice(keep).map((r) => inverseSigmoid(r)));
    });
  }
}
