// DINO teacher on MNIST-detection (64x64 canvases), on the Deformable DETR teacher's model shape
// (configs/deformable-detr/mnist-teacher.ts): a ResNet-18-like backbone at 1/2 width with three
// stages returned (strides 4, 8, 16) plus one extra stride-2 level, 4 levels and 340 memory
// tokens; d=128, 8 heads x 4 points, 3 encoder + 4 decoder layers. DINO's parts: the 50
// matching queries are the top-50 encoder proposals of each image (mixed query selection),
// contrastive denoising with a budget of 20 queries (groups = 20 / the batch's largest digit
// count, 2 x that count queries each: with up to 4 digits, 5 groups of 8), label noise 0.5, box
// noise 0.4, look-forward-twice refinement. Sampling offsets train at lr x0.1 (the reference's
// lr_linear_proj_mult). Run: npx detkit train configs/dino/mnist-teacher.ts
import { defineConfig } from '@detkit/core/config';
import { MNIST_CLASS_NAMES, mnistData } from '../_base/mnist-data.js';
import { slowOffsets } from '../_base/deformable-lr.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

const ENCODER_LAYERS = 3;
const DECODER_LAYERS = 4;

export default defineConfig({
  seed: 42,
  workDir: '../../work_dirs/dino-mnist-teacher',
  model: {
    type: 'dino',
    numClasses: 10,
    classNames: MNIST_CLASS_NAMES,
    backbone: { type: 'resnet', depth: 18, baseWidth: 32, blocks: [2, 2, 2], returnStages: [0, 1, 2], norm: 'batch' },
    numFeatureLevels: 4,
    numPoints: 4,
    hiddenDim: 128,
    numHeads: 8,
    numEncoderLayers: ENCODER_LAYERS,
    numDecoderLayers: DECODER_LAYERS,
    dimFeedforward: 512,
    dropout: 0,
    numQueries: 50,
    denoising: true,
    dnNumber: 20,
    dnLabelNoise: 0.5,
    dnBoxNoise: 0.4,
    lookForwardTwice: true,
  },
  data: mnistData(16000),
  evaluator: { type: 'coco' },
  train: {
    maxIters: 3000,
    optimizer: { type: 'adamw', lr: 2e-4, weightDecay: 1e-4, paramGroups: slowOffsets(ENCODER_LAYERS, DECODER_LAYERS) },
    lrSchedule: { type: 'lr-schedule', policy: 'step', milestones: [2600], gamma: 0.1 },
    clipGradNorm: 0.1,
    evalInterval: 500,
    checkpointInterval: 500,
    logInterval: 50,
  },
});
