import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, Module, runStepsSync, type Batch, type BatchTarget, type Detection, type ForwardSteps, type TrainableModel } from '@detkit/core';
import type { Backbone } from '../backbone/types.js';
import type { DistillBoxes, RoiDistillable, RoiPredictions, RoiTrainOutputs } from '../contract/roi-distillable.js';
import { anchorsPerCell, levelAnchors } from './anchors.js';
import { BoxCoder, ROI_HEAD_BOX_WEIGHTS } from './box-coder.js';
import { BoxHead } from './box-head.js';
import { detectionsForImage } from './detections.js';
import { Fpn } from './fpn.js';
import { bceWithLogits, smoothL1, softmaxCrossEntropy } from './losses.js';
import { ROI_HEAD_DEFAULTS, RPN_DEFAULTS, type FasterRcnnOptions, type ResolvedRoiHead, type ResolvedRpn } from './options.js';
import { proposalsForImage, type Proposals } from './proposals.js';
import { mapLevels, roiAlign, type FeatureLevel, type LevelMapperOptions, type Rois } from './roi-align.js';
import { RpnHead } from './rpn-head.js';
import { uniformStream } from './uniform.js';
import { sampleTargets } from './targets.js';

/** The features `predictAtBoxes` pools from: the pooled FPN levels of this batch and each image's unpadded size. */
export interface FasterRcnnFeatures {
  levels: FeatureLevel[];
  sizes: Array<{ width: number; height: number }>;
}

export interface FasterRcnnTrainOutputs extends RoiTrainOutputs<FasterRcnnFeatures> {
  /** Per image, the RPN's proposals of this iteration (host, detached). */
  proposals: Proposals[];
}

type TrainForward = { losses: Record<string, tf.Scalar>; outputs: FasterRcnnTrainOutputs };

/** Anchors of every RPN level for one set of feature-map sizes (host; cached per size). */
interface AnchorSet {
  boxes: Float64Array;
  /** First anchor of each level, then the total. */
  levelStarts: number[];
}

/**
 * Faster R-CNN (Ren et al. 2015) with FPN (Lin et al. 2017), following torchvision's
 * `fasterrcnn_resnet50_fpn`: backbone -> FPN -> RPN (anchors, balanced sampling at IoU
 * 0.7 / 0.3, class-agnostic NMS per level) -> RoIAlign over the level chosen by box size ->
 * two-layer box head -> softmax over C+1 classes and class-specific deltas (weights 10, 10,
 * 5, 5, smooth L1 with beta 1/9) -> class-aware NMS at inference.
 *
 * Where things run. Tensors (taped): backbone, FPN, RPN head, RoIAlign, box head, losses
 * (dense sums under constant masks). Host: anchors, box coding, matching and sampling,
 * proposal top-k / decode / NMS, RoIAlign's interpolation weights, inference decode and NMS.
 * The training pass pauses once (`forwardTrainSteps`) to read the RPN outputs for proposals.
 *
 * Implements the RoI contract (`predictAtBoxes`) for heterogeneous KD-DETR.
 */
export class FasterRcnn extends Module implements TrainableModel, RoiDistillable<FasterRcnnFeatures> {
  readonly classNames: readonly string[];
  readonly numClasses: number;
  readonly boxFormat = 'cxcywh-normalized' as const;
  readonly backbone: Backbone;
  readonly fpn: Fpn;
  readonly rpnHead: RpnHead;
  readonly boxHead: BoxHead;
  readonly rpnOptions: ResolvedRpn;
  readonly roiOptions: ResolvedRoiHead;
  private readonly strides: number[];
  private readonly anchorSizes: number[][];
  private readonly aspectRatios: number[];
  private readonly levelMapper: LevelMapperOptions;
  private readonly beta: number;
  private readonly rpnCoder = new BoxCoder([1, 1, 1, 1]);
  private readonly roiCoder = new BoxCoder(ROI_HEAD_BOX_WEIGHTS);
  private readonly anchorCache = new Map<string, AnchorSet>();
  /** Sampling stream (anchors and RoIs): seeded, advanced by every training pass. */
  private readonly rand: () => number;

  constructor(o: FasterRcnnOptions) {
    super();
    const fail = (key: string, what: string): never => {
      throw new DetkitError('CONFIG_INVALID', `faster-rcnn: ${key} ${what}`, { key });
    };
    this.numClasses = o.numClasses;
    if (!Number.isInteger(o.numClasses) || o.numClasses < 1) fail('numClasses', `must be a positive integer, got ${o.numClasses}`);
    this.classNames = o.classNames ?? Array.from({ length: o.numClasses }, (_, i) => String(i));
    if (this.classNames.length !== o.numClasses) fail('classNames', `has ${this.classNames.length} names for numClasses ${o.numClasses}`);
    this.rpnOptions = { ...RPN_DEFAULTS, ...o.rpn };
    this.roiOptions = { ...ROI_HEAD_DEFAULTS, ...o.roiHead };
    this.beta = o.smoothL1Beta ?? 1 / 9;

    const bs = [...o.backbone.strides];
    if (bs.length === 0 || bs.some((s, i) => !Number.isInteger(Math.log2(s)) || (i > 0 && s !== 2 * bs[i - 1]!))) {
      fail('backbone', `must return levels at consecutive power-of-two strides (e.g. resnet returnStages [0, 1, 2]), got strides [${bs}]`);
    }
    const extra = o.extraMaxPool ?? true;
    this.strides = extra ? [...bs, 2 * bs[bs.length - 1]!] : bs;
    this.anchorSizes = o.anchorSizes ?? [32, 64, 128, 256, 512].slice(0, this.strides.length).map((s) => [s]);
    this.aspectRatios = o.aspectRatios ?? [0.5, 1, 2];
    if (this.anchorSizes.length !== this.strides.length) {
      fail('anchorSizes', `needs one list per RPN level (${this.strides.length}: strides ${this.strides.join(', ')}), got ${this.anchorSizes.length}`);
    }
    const perCell = anchorsPerCell({ sizes: this.anchorSizes[0]!, aspectRatios: this.aspectRatios });
    if (this.anchorSizes.some((s) => s.length * this.aspectRatios.length !== perCell)) fail('anchorSizes', 'must list the same number of sizes on every level (one RPN head serves all)');
    const minLevel = Math.log2(bs[0]!);
    this.levelMapper = { canonicalScale: this.roiOptions.canonicalScale, canonicalLevel: this.roiOptions.canonicalLevel, minLevel, maxLevel: minLevel + bs.length - 1 };

    const c = o.fpnChannels ?? 256;
    const seed = o.seed;
    const sub = (k: number) => (seed === undefined ? undefined : seed + 1009 * k);
    this.backbone = this.module('backbone', o.backbone);
    this.fpn = this.module('fpn', new Fpn({ inChannels: o.backbone.outChannels, outChannels: c, extraMaxPool: extra, seed: sub(1) }));
    this.rpnHead = this.module('rpn_head', new RpnHead(c, perCell, sub(2)));
    const p = this.roiOptions.outputSize;
    this.boxHead = this.module('roi_heads', new BoxHead(p * p * c, this.roiOptions.representationSize, o.numClasses, sub(3)));
    this.rand = uniformStream(seed ?? 0);
  }

  /** Backbone + FPN: every RPN level (the pooled ones first, then the extra level). */
  private pyramid(images: tf.Tensor4D, masks: tf.Tensor3D): tf.Tensor4D[] {
    return this.fpn.forward(this.backbone.forward(images, masks).map((l) => l.features));
  }

  private pooledLevels(levels: tf.Tensor4D[]): FeatureLevel[] {
    return this.backbone.strides.map((stride, i) => ({ features: levels[i]!, stride }));
  }

  private anchorsFor(levels: readonly tf.Tensor4D[]): AnchorSet {
    const key = levels.map((l) => `${l.shape[1]}x${l.shape[2]}`).join(',');
    let set = this.anchorCache.get(key);
    if (!set) {
      const parts = levels.map((l, i) => levelAnchors(l.shape[1], l.shape[2], { sizes: this.anchorSizes[i]!, aspectRatios: this.aspectRatios, stride: this.strides[i]! }));
      const levelStarts = [0];
      for (const p of parts) levelStarts.push(levelStarts[levelStarts.length - 1]! + p.length / 4);
      const boxes = new Float64Array(4 * levelStarts[levelStarts.length - 1]!);
      parts.forEach((p, i) => boxes.set(p, 4 * levelStarts[i]!));
      set = { boxes, levelStarts };
      this.anchorCache.set(key, set);
    }
    return set;
  }

  private proposals(obj: ArrayLike<number>, del: ArrayLike<number>, anchors: AnchorSet, targets: readonly BatchTarget[], training: boolean): Proposals[] {
    const a = anchors.boxes.length / 4;
    const o = this.rpnOptions;
    const opts = {
      preNmsTopN: training ? o.preNmsTopNTrain : o.preNmsTopNTest,
      postNmsTopN: training ? o.postNmsTopNTrain : o.postNmsTopNTest,
      nmsThreshold: o.nmsThreshold,
      minSize: 1e-3,
    };
    const f32 = (x: ArrayLike<number>) => (x instanceof Float32Array ? x : Float32Array.from(x));
    const objF = f32(obj);
    const delF = f32(del);
    return targets.map((t, b) => proposalsForImage(objF.subarray(b * a, (b + 1) * a), delF.subarray(4 * b * a, 4 * (b + 1) * a), anchors.boxes, anchors.levelStarts, t, opts));
  }

  forwardTrain(batch: Batch): TrainForward {
    return runStepsSync(this.forwardTrainSteps(batch));
  }

  /** The training pass; pauses once to read the RPN outputs (proposals are made on the host). */
  *forwardTrainSteps(batch: Batch): ForwardSteps<TrainForward> {
    const levels = this.pyramid(batch.images, batch.masks);
    const { objectness, deltas } = this.rpnHead.forward(levels);
    const [objHost, delHost] = yield [objectness, deltas];
    const anchors = this.anchorsFor(levels);
    const gts = batch.targets.map(gtPixels);
    const rpn = this.rpnLosses(objectness, deltas, anchors, gts);
    const proposals = this.proposals(objHost!, delHost!, anchors, batch.targets, true);
    const pooled = this.pooledLevels(levels);
    const roi = this.roiLosses(pooled, proposals, gts, batch.targets);
    const sizes = batch.targets.map((t) => ({ width: t.width, height: t.height }));
    return { losses: { ...rpn, ...roi }, outputs: { roiFeatures: { levels: pooled, sizes }, proposals } };
  }

  /** Objectness BCE over the sampled anchors and smooth L1 over the positives, both / sampled count. */
  private rpnLosses(objectness: tf.Tensor2D, deltas: tf.Tensor3D, anchors: AnchorSet, gts: Float64Array[]): Record<string, tf.Scalar> {
    const a = anchors.boxes.length / 4;
    const b = gts.length;
    const o = this.rpnOptions;
    const labels = new Float32Array(b * a);
    const sampled = new Float32Array(b * a);
    const positive = new Float32Array(b * a);
    const targets = new Float32Array(4 * b * a);
    let count = 0;
    gts.forEach((gt, i) => {
      const s = sampleTargets(anchors.boxes, gt, { high: o.fgIouThreshold, low: o.bgIouThreshold, allowLowQuality: true, batchSize: o.batchSizePerImage, positiveFraction: o.positiveFraction }, this.rpnCoder, this.rand);
      for (let k = 0; k < a; k++) {
        if (s.labels[k]! < 0) continue;
        sampled[i * a + k] = 1;
        count++;
        if (s.labels[k] === 1) {
          labels[i * a + k] = 1;
          positive[i * a + k] = 1;
          targets.set(s.regression.subarray(4 * k, 4 * k + 4), 4 * (i * a + k));
        }
      }
    });
    return tf.tidy(() => {
      const n = Math.max(count, 1);
      const cls = tf.div(tf.sum(tf.mul(tf.tensor2d(sampled, [b, a]), bceWithLogits(objectness, tf.tensor2d(labels, [b, a])))), n);
      const l1 = smoothL1(tf.sub(deltas, tf.tensor3d(targets, [b, a, 4])), this.beta);
      const box = tf.div(tf.sum(tf.mul(tf.tensor3d(positive, [b, a, 1]), l1)), n);
      return { loss_objectness: cls as tf.Scalar, loss_rpn_box_reg: box as tf.Scalar };
    });
  }

  /** Proposals + ground truth, matched at 0.5 and sampled, pooled and classified: CE and class-specific smooth L1, both / sampled RoIs. */
  private roiLosses(levels: FeatureLevel[], proposals: Proposals[], gts: Float64Array[], targets: readonly BatchTarget[]): Record<string, tf.Scalar> {
    const o = this.roiOptions;
    const c = this.numClasses;
    const imageIndex: number[] = [];
    const boxes: number[] = [];
    const classOf: number[] = [];
    const regression: number[] = [];
    proposals.forEach((p, i) => {
      const cand = new Float64Array(p.boxes.length + gts[i]!.length);
      cand.set(p.boxes);
      cand.set(gts[i]!, p.boxes.length);
      const s = sampleTargets(cand, gts[i]!, { high: o.fgIouThreshold, low: o.bgIouThreshold, allowLowQuality: false, batchSize: o.batchSizePerImage, positiveFraction: o.positiveFraction }, this.roiCoder, this.rand);
      for (let k = 0; k < cand.length / 4; k++) {
        if (s.labels[k]! < 0) continue;
        imageIndex.push(i);
        for (let j = 0; j < 4; j++) boxes.push(cand[4 * k + j]!);
        classOf.push(s.labels[k] === 1 ? targets[i]!.labels[s.gtIndex[k]!]! : c);
        for (let j = 0; j < 4; j++) regression.push(s.regression[4 * k + j]!);
      }
    });
    const r = imageIndex.length;
    if (r === 0) return tf.tidy(() => ({ loss_classifier: tf.scalar(0), loss_box_reg: tf.scalar(0) }));
    const oneHot = new Float32Array(r * (c + 1));
    const boxMask = new Float32Array(r * c * 4);
    const boxTargets = new Float32Array(r * c * 4);
    classOf.forEach((k, i) => {
      oneHot[i * (c + 1) + k] = 1;
      if (k === c) return;
      for (let j = 0; j < 4; j++) {
        boxMask[(i * c + k) * 4 + j] = 1;
        boxTargets[(i * c + k) * 4 + j] = regression[4 * i + j]!;
      }
    });
    return tf.tidy(() => {
      const rois: Rois = { imageIndex, boxes, level: mapLevels(boxes, this.levelMapper) };
      const { logits, deltas } = this.boxHead.forward(roiAlign(levels, rois, o));
      const cls = softmaxCrossEntropy(logits, tf.tensor2d(oneHot, [r, c + 1]));
      const l1 = smoothL1(tf.sub(deltas, tf.tensor3d(boxTargets, [r, c, 4])), this.beta);
      const box = tf.div(tf.sum(tf.mul(tf.tensor3d(boxMask, [r, c, 4]), l1)), r);
      return { loss_classifier: cls, loss_box_reg: box as tf.Scalar };
    });
  }

  /** The RoI contract: logits `[B,M,C+1]` (background last) and per-class boxes `[B,M,C,4]` at shared or per-image boxes. */
  predictAtBoxes(features: FasterRcnnFeatures, d: DistillBoxes): RoiPredictions {
    const b = features.sizes.length;
    const perImage = d.perImage ?? features.sizes.map(() => d.boxes!);
    const m = perImage.length > 0 ? perImage[0]!.length / 4 : 0;
    if (perImage.length !== b) throw new DetkitError('INVALID_ARGUMENT', `faster-rcnn predictAtBoxes: ${perImage.length} per-image box sets for a batch of ${b}`);
    if (!Number.isInteger(m) || m === 0 || perImage.some((x) => x.length !== 4 * m)) {
      throw new DetkitError('INVALID_ARGUMENT', `faster-rcnn predictAtBoxes: need [M*4] boxes with M > 0 (the same M for every image), got ${perImage.map((x) => x.length).join(', ')} numbers`);
    }
    const imageIndex = new Int32Array(b * m);
    const xyxy = new Float64Array(4 * b * m);
    const cxcywh = new Float32Array(4 * b * m);
    const scale = new Float32Array(4 * b * m);
    features.sizes.forEach(({ width, height }, i) => {
      const boxes = perImage[i]!;
      for (let k = 0; k < m; k++) {
        const r = i * m + k;
        const [cx, cy, w, h] = [boxes[4 * k]! * width, boxes[4 * k + 1]! * height, boxes[4 * k + 2]! * width, boxes[4 * k + 3]! * height];
        imageIndex[r] = i;
        xyxy.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 4 * r);
        cxcywh.set([cx, cy, w, h], 4 * r);
        scale.set([width, height, width, height], 4 * r);
      }
    });
    return tf.tidy(() => {
      const rois: Rois = { imageIndex, boxes: xyxy, level: mapLevels(xyxy, this.levelMapper) };
      const { logits, deltas } = this.boxHead.forward(roiAlign(features.levels, rois, this.roiOptions));
      const decoded = this.roiCoder.decodeTensor(tf.tensor2d(cxcywh, [b * m, 4]), deltas);
      const boxes = tf.div(decoded, tf.tensor3d(scale, [b * m, 1, 4]));
      return { logits: tf.reshape(logits, [b, m, this.numClasses + 1]) as tf.Tensor3D, boxes: tf.reshape(boxes, [b, m, this.numClasses, 4]) as tf.Tensor4D };
    });
  }

  /**
   * The RoI contract's own points: this iteration's RPN proposals (already detached, best
   * first), the top `count` per image as normalised cxcywh of the unpadded image.
   */
  distillationProposals(outputs: FasterRcnnTrainOutputs, count: number): Float32Array[] {
    return outputs.proposals.map((p, i) => {
      const { width, height } = outputs.roiFeatures.sizes[i]!;
      const n = Math.min(count, p.boxes.length / 4);
      const out = new Float32Array(4 * n);
      for (let k = 0; k < n; k++) {
        const [x0, y0, x1, y1] = [p.boxes[4 * k]!, p.boxes[4 * k + 1]!, p.boxes[4 * k + 2]!, p.boxes[4 * k + 3]!];
        out.set([(x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height], 4 * k);
      }
      return out;
    });
  }

  /** Detections per image in original-image pixels (eval mode; proposals and NMS on the host). */
  async predict(batch: Batch): Promise<Detection[][]> {
    const wasTraining = this.training;
    this.eval();
    const held: tf.Tensor[] = [];
    try {
      const levels = tf.tidy(() => this.pyramid(batch.images, batch.masks));
      held.push(...levels);
      const { objectness, deltas } = this.rpnHead.forward(levels);
      held.push(objectness, deltas);
      const [obj, del] = await Promise.all([objectness.data(), deltas.data()]);
      const proposals = this.proposals(obj, del, this.anchorsFor(levels), batch.targets, false);
      const imageIndex: number[] = [];
      const boxes: number[] = [];
      proposals.forEach((p, i) => {
        for (let k = 0; k < p.boxes.length / 4; k++) imageIndex.push(i);
        boxes.push(...p.boxes);
      });
      const head = tf.tidy(() => this.boxHead.forward(roiAlign(this.pooledLevels(levels), { imageIndex, boxes, level: mapLevels(boxes, this.levelMapper) }, this.roiOptions)));
      held.push(head.logits, head.deltas);
      const [logits, boxDeltas] = await Promise.all([head.logits.data(), head.deltas.data()]);
      const k = this.numClasses + 1;
      const o = this.roiOptions;
      let start = 0;
      return proposals.map((p, i) => {
        const n = p.boxes.length / 4;
        const out = detectionsForImage(
          logits.subarray(start * k, (start + n) * k),
          boxDeltas.subarray(start * 4 * this.numClasses, (start + n) * 4 * this.numClasses),
          p.boxes,
          this.numClasses,
          this.roiCoder,
          batch.targets[i]!,
          { scoreThreshold: o.scoreThreshold, nmsThreshold: o.nmsThreshold, detectionsPerImage: o.detectionsPerImage, minSize: 1e-2 },
        );
        start += n;
        return out;
      });
    } finally {
      tf.dispose(held);
      this.train(wasTraining);
    }
  }
}

/** A target's boxes (normalised cxcywh of the unpadded image) as xyxy input pixels. */
export function gtPixels(t: Pick<BatchTarget, 'boxes' | 'width' | 'height'>): Float64Array {
  const out = new Float64Array(t.boxes.length);
  for (let i = 0; i < t.boxes.length; i += 4) {
    const [cx, cy, w, h] = [t.boxes[i]! * t.width, t.boxes[i + 1]! * t.height, t.boxes[i + 2]! * t.width, t.boxes[i + 3]! * t.height];
    out.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], i);
  }
  return out;
}
