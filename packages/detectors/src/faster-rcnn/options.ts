import type { Backbone } from '../backbone/types.js';

/** RPN settings (torchvision defaults in brackets). */
export interface RpnOptions {
  /** Anchors sampled per image for the RPN loss [256]. */
  batchSizePerImage?: number;
  /** Largest positive share of them [0.5]. */
  positiveFraction?: number;
  /** IoU for a positive anchor [0.7] and below which it is negative [0.3]. */
  fgIouThreshold?: number;
  bgIouThreshold?: number;
  nmsThreshold?: number;
  /** Per level, before NMS [2000 train, 1000 test]. */
  preNmsTopNTrain?: number;
  preNmsTopNTest?: number;
  /** Per image, after NMS [2000 train, 1000 test]. */
  postNmsTopNTrain?: number;
  postNmsTopNTest?: number;
}

/** RoI head settings (torchvision defaults in brackets). */
export interface RoiHeadOptions {
  /** RoIs sampled per image for the box-head loss [512]. */
  batchSizePerImage?: number;
  /** Largest positive share [0.25]. */
  positiveFraction?: number;
  /** IoU for a foreground RoI [0.5]; below bgIouThreshold it is background [0.5]. */
  fgIouThreshold?: number;
  bgIouThreshold?: number;
  /** RoIAlign output side [7] and samples per bin per axis [2]. */
  outputSize?: number;
  samplingRatio?: number;
  /** Half-pixel-correct RoIAlign (Detectron2 ROIAlignV2) [true; torchvision's Faster R-CNN: false]. */
  aligned?: boolean;
  /** FPN level assignment: a box of sqrt(area) `canonicalScale` pools from level `canonicalLevel` [224, 4]. */
  canonicalScale?: number;
  canonicalLevel?: number;
  /** fc6/fc7 width [1024]. */
  representationSize?: number;
  /** Inference: score threshold [0.05], class-aware NMS IoU [0.5], detections per image [100]. */
  scoreThreshold?: number;
  nmsThreshold?: number;
  detectionsPerImage?: number;
}

export interface FasterRcnnOptions {
  numClasses: number;
  classNames?: readonly string[];
  /** Returns the levels the FPN merges, finest first (e.g. resnet with returnStages [0, 1, 2, 3]). */
  backbone: Backbone;
  /** FPN channels [256]. */
  fpnChannels?: number;
  /** An extra stride-2x level by max-pooling, for the RPN only [true]. */
  extraMaxPool?: boolean;
  /** Anchor sizes per RPN level, finest first, one list per level (extra level included) [32, 64, 128, 256, 512]. */
  anchorSizes?: number[][];
  /** Anchor aspect ratios h / w [0.5, 1, 2]. */
  aspectRatios?: number[];
  rpn?: RpnOptions;
  roiHead?: RoiHeadOptions;
  /** Smooth-L1 transition for both box losses [1/9]. */
  smoothL1Beta?: number;
  seed?: number;
}

export type ResolvedRpn = Required<RpnOptions>;
export type ResolvedRoiHead = Required<RoiHeadOptions>;

export const RPN_DEFAULTS: ResolvedRpn = {
  batchSizePerImage: 256,
  positiveFraction: 0.5,
  fgIouThreshold: 0.7,
  bgIouThreshold: 0.3,
  nmsThreshold: 0.7,
  preNmsTopNTrain: 2000,
  preNmsTopNTest: 1000,
  postNmsTopNTrain: 2000,
  postNmsTopNTest: 1000,
};

export const ROI_HEAD_DEFAULTS: ResolvedRoiHead = {
  batchSizePerImage: 512,
  positiveFraction: 0.25,
  fgIouThreshold: 0.5,
  bgIouThreshold: 0.5,
  outputSize: 7,
  samplingRatio: 2,
  aligned: true,
  canonicalScale: 224,
  canonicalLevel: 4,
  representationSize: 1024,
  scoreThreshold: 0.05,
  nmsThreshold: 0.5,
  detectionsPerImage: 100,
};
