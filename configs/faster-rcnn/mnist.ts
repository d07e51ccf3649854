// Faster R-CNN + FPN on MNIST-detection, the CNN student of heterogeneous KD-DETR
// (configs/kd-detr/mnist-dab-to-faster-rcnn.ts). Backbone as the DAB-DETR student's (ResNet-18-like
// at 1/4 width, two stages: strides 4 and 8) + an FPN of 64 channels and a max-pooled stride-16
// level for the RPN; anchors 16/32/64 px for 13-38 px digits; a canonical 32 px box pools from
// stride 8; 64 RoIs per image (at most 4 digits). Run: npx detkit train configs/faster-rcnn/mnist.ts
import { defineConfig } from '@detkit/core/config';
import { MNIST_CLASS_NAMES, mnistData } from '../_base/mnist-data.js';
import type {} from '@detkit/detectors';
import type {} from '@detkit/datasets';

export default defineConfig({
  seed: 42,
  workDir: '../../work_dirs/faster-rcnn-mnist',
  model: {
    type: 'faster-rcnn',
    numClasses: 10,
    classNames: MNIST_CLASS_NAMES,
    backbone: { type: 'resnet', depth: 18, baseWidth: 16, blocks: [2, 2], returnStages: [0, 1], norm: 'batch' },
    fpnChannels: 64,
    extraMaxPool: true,
    anchorSizes: [[16], [32], [64]],
    aspectRatios: [0.5, 1, 2],
    rpn: { batchSizePerImage: 256, positiveFraction: 0.5, preNmsTopNTrain: 1000, postNmsTopNTrain: 300, preNmsTopNTest: 1000, postNmsTopNTest: 100 },
    roiHead: { batchSizePerImage: 64, positiveFraction: 0.25, outputSize: 7, samplingRatio: 2, aligned: true, canonicalScale: 32, canonicalLevel: 3, representationSize: 256 },
  },
  data: mnistData(8000),
  evaluator: { type: 'coco' },
  train: {
    maxIters: 3000,
    optimizer: { type: 'adamw', lr: 1e-3, weightDecay: 1e-4 },
    lrSchedule: { type: 'lr-schedule', policy: 'step', milestones: [2400], gamma: 0.1 },
    clipGradNorm: 10,
    evalInterval: 1000,
    checkpointInterval: 1000,
    logInterval: 50,
  },
});
