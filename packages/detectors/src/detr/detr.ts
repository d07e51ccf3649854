import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, Embedding } from '@detkit/core';
import type { DecodeOptions, DecodeResult, Encoded, QueryGroup } from '../contract/query-groups.js';
import { TransformerDecoder } from '../transformer/decoder.js';
import { subSeed } from '../transformer/encoder.js';
import { DetrBase, type DetrCommonOptions } from './detr-base.js';
import { tidyAny } from '../transformer/tidy.js';

export type DetrOptions = DetrCommonOptions;

/**
 * DETR (Carion et al., 2020) with learned query embeddings (`query_embed`, `[Q,d]`, used as
 * the positional query; content starts at zeros), post-norm encoder/decoder and shared
 * heads with auxiliary losses. One deliberate change: classification is sigmoid focal over
 * C classes (no "no-object" softmax class), as for every detector here, so matching and
 * distillation are uniform. DETR has no anchor boxes, so it does not implement the
 * query-group contract: `decode` accepts no extra groups.
 */
export class Detr extends DetrBase {
  readonly queryEmbed: Embedding;
  readonly decoder: TransformerDecoder;

  constructor(opts: DetrOptions) {
    super('detr', { numQueries: 100, ...opts }, false);
    this.decoder = this.transformer.add('decoder', new TransformerDecoder({ ...this.layerOptions(opts), numLayers: this.numDecoderLayers, seed: subSeed(opts.seed, 3) }));
    this.queryEmbed = this.module('query_embed', new Embedding(this.numQueries, this.hiddenDim, { seed: subSeed(opts.seed, 6) }));
  }

  decode(encoded: Encoded, groups: readonly QueryGroup[], options: DecodeOptions = {}): DecodeResult {
    if (groups.length > 0) throw new DetkitError('NOT_IMPLEMENTED', 'detr: query groups need anchor-box queries; use dab-detr');
    if (options.detection === false) return { detection: { logits: [], boxes: [] }, groups: [] };
    const detection = tidyAny(() => {
      const b = encoded.memory.shape[0];
      const queryPos = tf.tile(tf.expandDims(this.queryEmbed.weight, 0), [b, 1, 1]) as tf.Tensor3D;
      const hs = this.decoder.forward(tf.zerosLike(queryPos), queryPos, encoded.memory, encoded.pos, { memoryKeyPaddingMask: encoded.mask });
      return this.heads(hs);
    });
    return { detection, groups: [] };
  }
}
