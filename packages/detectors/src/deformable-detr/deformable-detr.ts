import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, Embedding, Linear, MLP } from '@detkit/core';
import type { Backbone } from '../backbone/types.js';
import type { DecodeOptions, DecodeResult, Encoded, QueryGroup, QueryGroupDetector } from '../contract/query-groups.js';
import type { DetrCommonOptions } from '../detr/detr-base.js';
import { decodeQueryBlocks } from '../detr/query-blocks.js';
import { initClassBiasToPrior, SetPredictionDetector, zeroLastLayer } from '../detr/set-prediction.js';
import { SetCriterion } from '../losses/setCriterion.js';
import { HungarianMatcher } from '../matcher/hungarianMatcher.js';
import { subSeed } from '../transformer/encoder.js';
import { tidyAny } from '../transformer/tidy.js';
import { flattenLevels, inputProjections, projectLevels, type ConvGroupNorm } from './levels.js';
import type { SpatialShapes } from './ms-deform-attn.js';
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

/** `Encoded` plus the level grid the memory was flattened from. */
export interface DeformableEncoded extends Encoded {
  shapes: SpatialShapes;
  /** `[B,L,2]` (w, h) fraction of each level covered by the real image. */
  validRatios: tf.Tensor3D;
}

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
export class DeformableDetr extends SetPredictionDetector implements QueryGroupDetector {
  readonly classNames: readonly string[];
  readonly numClasses: number;
  readonly hiddenDim: number;
  readonly numDecoderLayers: number;
  readonly numQueries: number;
  readonly numLevels: number;
  readonly boxFormat = 'cxcywh-normalized' as const;
  readonly backbone: Backbone;
  readonly inputProj: ConvGroupNorm[];
  readonly transformer: DeformableTransformer;
  readonly classEmbed: Linear[];
  readonly bboxEmbed: MLP[];
  readonly refpointEmbed: Embedding;
  readonly criterion: SetCriterion;
  protected readonly topK: number;
  // predict reads only the last layer: the earlier layers' heads are skipped.
  protected override readonly predictDecodeOptions: DecodeOptions = { finalLayerOnly: true };

  constructor(opts: DeformableDetrOptions) {
    super();
    const o = checkDeformableOptions(opts);
    const d = (this.hiddenDim = o.hiddenDim);
    this.numClasses = opts.numClasses;
    this.numDecoderLayers = o.numDecoderLayers;
    this.numQueries = o.numQueries;
    this.numLevels = o.numFeatureLevels;
    this.topK = opts.topK ?? 100;
    this.classNames = opts.classNames ?? Array.from({ length: this.numClasses }, (_, i) => String(i));
    const seed = opts.seed;
    this.backbone = this.module('backbone', opts.backbone);
    this.inputProj = this.moduleList('input_proj', inputProjections(opts.backbone.outChannels, this.numLevels, d, o.groupNormGroups, subSeed(seed, 1)));
    this.transformer = this.module(
      'transformer',
      new DeformableTransformer({
        dModel: d, numHeads: o.numHeads, dimFeedforward: opts.dimFeedforward ?? 1024, dropout: opts.dropout ?? 0,
        numLevels: this.numLevels, numPoints: o.numPoints, numEncoderLayers: opts.numEncoderLayers ?? 6, numDecoderLayers: this.numDecoderLayers, seed: subSeed(seed, 2),
      }),
    );
    const layers = Array.from({ length: this.numDecoderLayers }, (_, l) => l);
    this.classEmbed = this.moduleList('class_embed', layers.map((l) => new Linear(d, this.numClasses, { seed: subSeed(seed, 40 + l) })));
    this.bboxEmbed = this.moduleList('bbox_embed', layers.map((l) => new MLP(d, d, 4, 3, { seed: subSeed(seed, 60 + l) })));
    this.refpointEmbed = this.module('refpoint_embed', new Embedding(this.numQueries, 4, { seed: subSeed(seed, 6) }));
    this.classEmbed.forEach(initClassBiasToPrior);
    // Box heads' last layers start at zero: each layer's first prediction is its reference box.
    this.bboxEmbed.forEach(zeroLastLayer);
    this.criterion = new SetCriterion({ matcher: new HungarianMatcher(opts.matcher), ...opts.loss });
  }

  detectionQueries(): QueryGroup {
    return { anchors: this.refpointEmbed.weight };
  }

  encode(images: tf.Tensor4D, masks: tf.Tensor3D): DeformableEncoded {
    return tidyAny(() => {
      const levels = this.backbone.forward(images, masks);
      const input = flattenLevels(projectLevels(levels, masks, this.inputProj), this.transformer.levelEmbed);
      const memory = this.transformer.encoder.forward(input.src, input.pos, input.shapes, input.validRatios, input.keepMask);
      return { memory, mask: input.keepMask, pos: input.pos, featureSize: [...input.shapes[0]!] as [number, number], shapes: input.shapes, validRatios: input.validRatios };
    });
  }

  decode(encoded: Encoded, groups: readonly QueryGroup[], options: DecodeOptions = {}): DecodeResult {
    const enc = encoded as DeformableEncoded;
    if (!enc.shapes || !enc.validRatios) throw new DetkitError('INVALID_ARGUMENT', 'deformable-detr decode: needs the Encoded of its own encode() (level shapes and valid ratios)');
    const B = enc.memory.shape[0];
    return decodeQueryBlocks(this, 'deformable-detr', B, groups, options, (queries) => {
      const batched = (t: tf.Tensor) => (t.rank === 2 ? tf.tile(tf.expandDims(t, 0), [B, 1, 1]) : t) as tf.Tensor3D;
      const { hs, boxes } = this.transformer.decoder.forward(
        batched(queries.content), batched(queries.anchors),
        { memory: enc.memory, shapes: enc.shapes, validRatios: enc.validRatios, keepMask: enc.mask, blocks: queries.blocks },
        this.bboxEmbed,
      );
      const keep = options.finalLayerOnly ? hs.length - 1 : 0;
      return { logits: hs.slice(keep).map((h, k) => this.classEmbed[keep + k]!.forward(h) as tf.Tensor3D), boxes: boxes.slice(keep) };
    });
  }
}
