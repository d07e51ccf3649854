import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, Linear, MLP, type Module } from '@detkit/core';
import type { Backbone } from '../backbone/types.js';
import type { DecodeOptions, Encoded } from '../contract/query-groups.js';
import type { DetrCommonOptions } from '../detr/detr-base.js';
import type { JointQueries } from '../detr/query-blocks.js';
import { initClassBiasToPrior, SetPredictionDetector, zeroLastLayer } from '../detr/set-prediction.js';
import { SetCriterion } from '../losses/setCriterion.js';
import { HungarianMatcher } from '../matcher/hungarianMatcher.js';
import { subSeed } from '../transformer/encoder.js';
import { tidyAny } from '../transformer/tidy.js';
import type { DecoderMemory } from './decoder.js';
import type { DeformableEncoder, DeformableLayerOptions } from './encoder.js';
import { flattenLevels, inputProjections, projectLevels, type ConvGroupNorm } from './levels.js';
import type { SpatialShapes } from './ms-deform-attn.js';
import type { ResolvedDeformableOptions } from './validate.js';

/** `Encoded` plus the level grid the memory was flattened from. */
export interface DeformableEncoded extends Encoded {
  shapes: SpatialShapes;
  /** `[B,L,2]` (w, h) fraction of each level covered by the real image. */
  validRatios: tf.Tensor3D;
}

/** What a multi-scale detector's `transformer` has: the level embedding and the deformable encoder (its decoder is the detector's own business). */
export interface MultiScaleTransformer extends Module {
  readonly levelEmbed: tf.Variable<tf.Rank.R2>;
  readonly encoder: DeformableEncoder;
}

/** The options every deformable transformer is built from. */
export type DeformableTransformerOptions = DeformableLayerOptions & { numEncoderLayers: number; numDecoderLayers: number };

/**
 * What Deformable DETR and DINO share: the options they resolve alike, the modules they build
 * in the same order with the same names and seeds (`backbone`, `input_proj.i`, `transformer`,
 * `class_embed.l`, `bbox_embed.l`: a class and a box head per decoder layer, prior class bias,
 * zero last box layer so that each layer's first prediction is its reference box), the
 * criterion, and the multi-scale `encode` (levels projected, flattened, deformable encoder).
 * A subclass builds its own queries and decoder pass after `super()`.
 */
export abstract class MultiScaleSetPredictor<T extends MultiScaleTransformer> extends SetPredictionDetector {
  readonly classNames: readonly string[];
  readonly numClasses: number;
  readonly hiddenDim: number;
  readonly numDecoderLayers: number;
  readonly numQueries: number;
  readonly numLevels: number;
  readonly boxFormat = 'cxcywh-normalized' as const;
  readonly backbone: Backbone;
  readonly inputProj: ConvGroupNorm[];
  readonly transformer: T;
  readonly classEmbed: Linear[];
  readonly bboxEmbed: MLP[];
  readonly criterion: SetCriterion;
  protected readonly topK: number;
  // predict reads only the last layer: the earlier layers' heads are skipped.
  protected override readonly predictDecodeOptions: DecodeOptions = { finalLayerOnly: true };
  /** The registry name, in error messages. */
  private readonly detectorName: string;

  /**
   * `o`: the options as the subclass resolved and checked them; `makeTransformer` builds the
   * `transformer` from the shared options (`dimFeedforward` defaulting to `defaultFeedforward`).
   */
  protected constructor(
    name: string,
    opts: DetrCommonOptions,
    o: ResolvedDeformableOptions,
    defaultFeedforward: number,
    makeTransformer: (t: DeformableTransformerOptions) => T,
  ) {
    super();
    this.detectorName = name;
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
      makeTransformer({
        dModel: d, numHeads: o.numHeads, dimFeedforward: opts.dimFeedforward ?? defaultFeedforward, dropout: opts.dropout ?? 0,
        numLevels: this.numLevels, numPoints: o.numPoints, numEncoderLayers: opts.numEncoderLayers ?? 6, numDecoderLayers: this.numDecoderLayers, seed: subSeed(seed, 2),
      }),
    );
    const layers = Array.from({ length: this.numDecoderLayers }, (_, l) => l);
    this.classEmbed = this.moduleList('class_embed', layers.map((l) => new Linear(d, this.numClasses, { seed: subSeed(seed, 40 + l) })));
    this.bboxEmbed = this.moduleList('bbox_embed', layers.map((l) => new MLP(d, d, 4, 3, { seed: subSeed(seed, 60 + l) })));
    this.classEmbed.forEach(initClassBiasToPrior);
    this.bboxEmbed.forEach(zeroLastLayer);
    this.criterion = new SetCriterion({ matcher: new HungarianMatcher(opts.matcher), ...opts.loss });
  }

  encode(images: tf.Tensor4D, masks: tf.Tensor3D): DeformableEncoded {
    return tidyAny(() => {
      const levels = this.backbone.forward(images, masks);
      const input = flattenLevels(projectLevels(levels, masks, this.inputProj), this.transformer.levelEmbed);
      const memory = this.transformer.encoder.forward(input.src, input.pos, input.shapes, input.validRatios, input.keepMask);
      return { memory, mask: input.keepMask, pos: input.pos, featureSize: [...input.shapes[0]!] as [number, number], shapes: input.shapes, validRatios: input.validRatios };
    });
  }

  /** `encoded` as this model's own `encode()` result: fails unless it has the level shapes and valid ratios. */
  protected ownEncoded(encoded: Encoded): DeformableEncoded {
    const enc = encoded as DeformableEncoded;
    if (!enc.shapes || !enc.validRatios) throw new DetkitError('INVALID_ARGUMENT', `${this.detectorName} decode: needs the Encoded of its own encode() (level shapes and valid ratios)`);
    return enc;
  }

  /** One decodeQueryBlocks pass's decoder inputs: content and anchors as `[B,N,...]` (a shared `[N,...]` block tiled), the memory with the pass's blocks or layout. */
  protected decoderInputs(enc: DeformableEncoded, queries: JointQueries): { tgt: tf.Tensor3D; anchors: tf.Tensor3D; memory: DecoderMemory } {
    const B = enc.memory.shape[0];
    const batched = (t: tf.Tensor) => (t.rank === 2 ? tf.tile(tf.expandDims(t, 0), [B, 1, 1]) : t) as tf.Tensor3D;
    return {
      tgt: batched(queries.content),
      anchors: batched(queries.anchors),
      memory: { memory: enc.memory, shapes: enc.shapes, validRatios: enc.validRatios, keepMask: enc.mask, blocks: queries.blocks, layout: queries.layout },
    };
  }
}
