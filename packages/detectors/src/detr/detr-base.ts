import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, DetkitError, Linear, MLP, Module } from '@detkit/core';
import type { Backbone } from '../backbone/types.js';
import type { DecodeOutput, Encoded } from '../contract/query-groups.js';
import { SetCriterion, type SetCriterionConfig } from '../losses/setCriterion.js';
import { HungarianMatcher, type HungarianMatcherConfig } from '../matcher/hungarianMatcher.js';
import { TransformerEncoder, subSeed } from '../transformer/encoder.js';
import { sinePositionEmbedding } from '../transformer/position-encoding.js';
import { tidyAny } from '../transformer/tidy.js';
import { initClassBiasToPrior, SetPredictionDetector } from './set-prediction.js';

/** A module other modules can be attached to by name (the reference's `transformer`). */
export class ModuleContainer extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.module(name, m);
  }
}

export interface DetrCommonOptions {
  numClasses: number;
  classNames?: readonly string[];
  backbone: Backbone;
  hiddenDim?: number;
  numHeads?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
  dimFeedforward?: number;
  dropout?: number;
  numQueries?: number;
  /** Loss weights (loss_ce, loss_bbox, loss_giou; default 1, 5, 2) and focal parameters. */
  loss?: Pick<SetCriterionConfig, 'weights' | 'focalAlpha' | 'gamma'>;
  matcher?: HungarianMatcherConfig;
  /** Detections per image at inference. */
  topK?: number;
  seed?: number;
}

/**
 * What DETR and DAB-DETR share: backbone -> 1x1 `input_proj` -> sine positions -> encoder
 * (`transformer.encoder`), the class head (`class_embed`, C logits for sigmoid focal
 * classification, no background class) and the 3-layer box head (`bbox_embed`); the set
 * criterion with auxiliary (per decoder layer) losses and top-k post-processing come from
 * SetPredictionDetector.
 */
export abstract class DetrBase extends SetPredictionDetector {
  readonly classNames: readonly string[];
  readonly numClasses: number;
  readonly hiddenDim: number;
  readonly numDecoderLayers: number;
  readonly numQueries: number;
  readonly numHeads: number;
  readonly boxFormat = 'cxcywh-normalized' as const;
  readonly backbone: Backbone;
  readonly inputProj: Conv2d;
  readonly transformer: ModuleContainer;
  readonly encoder: TransformerEncoder;
  readonly classEmbed: Linear;
  readonly bboxEmbed: MLP;
  readonly criterion: SetCriterion;
  protected readonly topK: number;

  protected constructor(name: string, opts: DetrCommonOptions, encoderPosScale: boolean) {
    super();
    const d = (this.hiddenDim = opts.hiddenDim ?? 256);
    this.numHeads = opts.numHeads ?? 8;
    this.numClasses = opts.numClasses;
    this.numDecoderLayers = opts.numDecoderLayers ?? 6;
    this.numQueries = opts.numQueries ?? 300;
    this.topK = opts.topK ?? 100;
    const check = (ok: boolean, what: string) => {
      if (!ok) throw new DetkitError('INVALID_ARGUMENT', `${name}: ${what}`);
    };
    check(Number.isInteger(this.numClasses) && this.numClasses >= 1, `numClasses must be a positive integer, got ${opts.numClasses}`);
    check(d % this.numHeads === 0 && d % 4 === 0, `hiddenDim ${d} must be divisible by numHeads ${this.numHeads} and by 4`);
    check(Number.isInteger(this.numDecoderLayers) && this.numDecoderLayers >= 1, `numDecoderLayers must be >= 1, got ${this.numDecoderLayers}`);
    check(Number.isInteger(this.numQueries) && this.numQueries >= 1, `numQueries must be >= 1, got ${this.numQueries}`);
    this.classNames = opts.classNames ?? Array.from({ length: this.numClasses }, (_, i) => String(i));
    check(this.classNames.length === this.numClasses, `${this.classNames.length} classNames for numClasses ${this.numClasses}`);
    check(opts.backbone.outChannels.length >= 1, 'backbone returns no feature level');

    const seed = opts.seed;
    this.backbone = this.module('backbone', opts.backbone);
    const cb = opts.backbone.outChannels[opts.backbone.outChannels.length - 1]!;
    this.inputProj = this.module('input_proj', new Conv2d(cb, d, 1, { seed: subSeed(seed, 1) }));
    this.transformer = this.module('transformer', new ModuleContainer());
    const layer = { dModel: d, numHeads: this.numHeads, dimFeedforward: opts.dimFeedforward ?? 2048, dropout: opts.dropout ?? 0 };
    this.encoder = this.transformer.add(
      'encoder',
      new TransformerEncoder({ ...layer, numLayers: opts.numEncoderLayers ?? 6, conditionalPosScale: encoderPosScale, seed: subSeed(seed, 2) }),
    );
    this.classEmbed = this.module('class_embed', new Linear(d, this.numClasses, { seed: subSeed(seed, 4) }));
    this.bboxEmbed = this.module('bbox_embed', new MLP(d, d, 4, 3, { seed: subSeed(seed, 5) }));
    initClassBiasToPrior(this.classEmbed);
    this.criterion = new SetCriterion({ matcher: new HungarianMatcher(opts.matcher), ...opts.loss });
  }

  /** Layer options for the subclass's decoder. */
  protected layerOptions(opts: DetrCommonOptions) {
    return { dModel: this.hiddenDim, numHeads: this.numHeads, dimFeedforward: opts.dimFeedforward ?? 2048, dropout: opts.dropout ?? 0 };
  }

  encode(images: tf.Tensor4D, masks: tf.Tensor3D): Encoded {
    return tidyAny(() => {
      const levels = this.backbone.forward(images, masks);
      const { features, mask } = levels[levels.length - 1]!;
      const [b, h, w] = [features.shape[0], features.shape[1], features.shape[2]];
      const d = this.hiddenDim;
      const src = tf.reshape(this.inputProj.forward(features), [b, h * w, d]) as tf.Tensor3D;
      const pos = tf.reshape(sinePositionEmbedding(mask, { numFeats: d / 2 }), [b, h * w, d]) as tf.Tensor3D;
      const flatMask = tf.reshape(mask, [b, h * w]) as tf.Tensor2D;
      const memory = this.encoder.forward(src, pos, flatMask);
      return { memory, mask: flatMask, pos, featureSize: [h, w] as [number, number] };
    });
  }

  /** Per-layer class logits and boxes from decoder hidden states and (pre-sigmoid) box offsets. */
  protected heads(hs: tf.Tensor3D[], boxOffsets?: tf.Tensor3D[]): DecodeOutput {
    return {
      logits: hs.map((h) => this.classEmbed.forward(h) as tf.Tensor3D),
      boxes: hs.map((h, l) => {
        const raw = this.bboxEmbed.forward(h);
        return tf.sigmoid(boxOffsets ? tf.add(raw, boxOffsets[l]!) : raw) as tf.Tensor3D;
      }),
    };
  }
}
