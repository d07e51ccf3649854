import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, Embedding, Linear, lossNormalizer, MLP, Module, runStepsSync } from '@detkit/core';
import type { Batch, Detection, ForwardSteps, TrainableModel } from '@detkit/core';
import type { Backbone } from '../backbone/types.js';
import type { DecodeOptions, DecodeOutput, DecodeResult, Encoded, ForwardTrainOptions, QueryGroup, QueryGroupDetector, QueryGroupTrainOutputs } from '../contract/query-groups.js';
import type { DetrCommonOptions } from '../detr/detr-base.js';
import { SetCriterion } from '../losses/setCriterion.js';
import { HungarianMatcher } from '../matcher/hungarianMatcher.js';
import { postProcess } from '../postprocess/postprocess.js';
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

type TrainForward = { losses: Record<string, tf.Scalar>; outputs: QueryGroupTrainOutputs };

const PRIOR_PROB = 0.01;

function splitQueries<T extends tf.Tensor>(t: T, sizes: readonly number[]): T[] {
  const nonZero = sizes.filter((s) => s > 0);
  const parts = nonZero.length === 1 ? [t] : (tf.split(t, nonZero, 1) as T[]);
  let k = 0;
  return sizes.map((s) => (s > 0 ? parts[k++]! : (tf.zeros([t.shape[0], 0, ...t.shape.slice(2)]) as T)));
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
 * cross-attention is per query.
 */
export class DeformableDetr extends Module implements QueryGroupDetector, TrainableModel {
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
  private readonly topK: number;

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
    tf.tidy(() => {
      for (const c of this.classEmbed) c.bias!.assign(tf.fill([this.numClasses], -Math.log((1 - PRIOR_PROB) / PRIOR_PROB)));
      // Box heads' last layers start at zero: each layer's first prediction is its reference box.
      for (const m of this.bboxEmbed) {
        const last = m.layers[m.layers.length - 1]!;
        last.weight.assign(tf.zerosLike(last.weight));
        last.bias!.assign(tf.zerosLike(last.bias!));
      }
    });
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

  private checkGroup(g: QueryGroup, i: number): void {
    const a = g.anchors;
    if (a.rank !== 2 || a.shape[1] !== 4) throw new DetkitError('INVALID_ARGUMENT', `deformable-detr decode: group ${i} anchors must be [M,4], got [${a.shape}]`);
    if (g.content && (g.content.rank !== 2 || g.content.shape[0] !== a.shape[0] || g.content.shape[1] !== this.hiddenDim)) {
      throw new DetkitError('INVALID_ARGUMENT', `deformable-detr decode: group ${i} content must be [${a.shape[0]},${this.hiddenDim}], got [${g.content.shape}]`);
    }
  }

  decode(encoded: Encoded, groups: readonly QueryGroup[], options: DecodeOptions = {}): DecodeResult {
    const enc = encoded as DeformableEncoded;
    if (!enc.shapes || !enc.validRatios) throw new DetkitError('INVALID_ARGUMENT', 'deformable-detr decode: needs the Encoded of its own encode() (level shapes and valid ratios)');
    groups.forEach((g, i) => this.checkGroup(g, i));
    const withDetection = options.detection ?? true;
    const all: QueryGroup[] = withDetection ? [this.detectionQueries(), ...groups] : [...groups];
    const sizes = all.map((g) => g.anchors.shape[0]);
    const total = sizes.reduce((s, v) => s + v, 0);
    const empty = (): DecodeOutput => ({ logits: [], boxes: [] });
    const B = enc.memory.shape[0];
    if (total === 0) return { detection: empty(), groups: groups.map(() => this.emptyOutput(B)) };
    const out = tidyAny(() => {
      const batched = (t: tf.Tensor) => tf.tile(tf.expandDims(t, 0), [B, 1, 1]) as tf.Tensor3D;
      const anchors = batched(tf.sigmoid(tf.concat(all.map((g) => g.anchors), 0)));
      const tgt = batched(tf.concat(all.map((g) => g.content ?? tf.zeros([g.anchors.shape[0], this.hiddenDim])), 0));
      const { hs, boxes } = this.transformer.decoder.forward(
        tgt, anchors,
        { memory: enc.memory, shapes: enc.shapes, validRatios: enc.validRatios, keepMask: enc.mask, blocks: all.length > 1 ? sizes : undefined },
        this.bboxEmbed,
      );
      const keep = options.finalLayerOnly ? hs.length - 1 : 0;
      const perLayer = hs.slice(keep).map((h, k) => ({
        logits: splitQueries(this.classEmbed[keep + k]!.forward(h) as tf.Tensor3D, sizes),
        boxes: splitQueries(boxes[keep + k]!, sizes),
      }));
      return all.map((_, gi) => ({ logits: perLayer.map((p) => p.logits[gi]!), boxes: perLayer.map((p) => p.boxes[gi]!) }));
    });
    return withDetection ? { detection: out[0]!, groups: out.slice(1) } : { detection: empty(), groups: out };
  }

  private emptyOutput(b: number): DecodeOutput {
    return {
      logits: Array.from({ length: this.numDecoderLayers }, () => tf.zeros([b, 0, this.numClasses]) as tf.Tensor3D),
      boxes: Array.from({ length: this.numDecoderLayers }, () => tf.zeros([b, 0, 4]) as tf.Tensor3D),
    };
  }

  /** Loss of the detection queries only (Hungarian-matched, aux losses per layer); groups are returned, never matched. */
  forwardTrain(batch: Batch, options: ForwardTrainOptions = {}): TrainForward {
    return runStepsSync(this.forwardTrainSteps(batch, options));
  }

  /** `forwardTrain` pausing once, after decoding, for the host read the matching needs. */
  *forwardTrainSteps(batch: Batch, options: ForwardTrainOptions = {}): ForwardSteps<TrainForward> {
    const encoded = this.encode(batch.images, batch.masks);
    const { detection, groups } = this.decode(encoded, options.groups ?? []);
    const layers = detection.logits.map((logits, l) => ({ logits, boxes: detection.boxes[l]! }));
    const numBoxes = lossNormalizer(batch, batch.targets.reduce((s, t) => s + t.labels.length, 0), 'boxes');
    const { losses } = yield* this.criterion.computeSteps(layers, batch.targets, { numBoxes });
    return { losses, outputs: { encoded, memory: encoded.memory, masks: encoded.mask, pos: encoded.pos, detection, groups } };
  }

  /** Detections per image (top-k of the last decoder layer), in original-image pixels; runs in eval mode. */
  async predict(batch: Batch): Promise<Detection[][]> {
    const wasTraining = this.training;
    this.eval();
    try {
      const [logits, boxes] = tf.tidy(() => {
        const { detection } = this.decode(this.encode(batch.images, batch.masks), [], { finalLayerOnly: true });
        const last = detection.logits.length - 1;
        return [detection.logits[last]!, detection.boxes[last]!];
      });
      try {
        return await postProcess(logits, boxes, batch.targets, { topK: this.topK });
      } finally {
        logits.dispose();
        boxes.dispose();
      }
    } finally {
      this.train(wasTraining);
    }
  }
}
