// DINO student on MNIST-detection (64x64 canvases), on the Deformable DETR student's model shape
// (configs/deformable-detr/mnist-student.ts): a ResNet-18-like backbone at 1/4 width, the last two
// of three stages returned (strides 8, 16) plus one extra stride-2 level, 3 levels and 84 memory
// tokens; d=128, 8 heads x 4 points, 2 encoder + 3 decoder layers, 50 matching queries (the top-50
// encoder proposals of each image), denoising as the DINO teacher (budget 20, label noise 0.5,
// box noise 0.4), look-forward-twice. Sampling offsets train at lr x0.1.
// Run: npx detkit train configs/dino/mnist-student.ts
import { defineConfig } from '@detkit/core/config';
import { MNIST_CLASS_NAMES, mnistData } from '../_base/mnist-data.js';
import { slowOffsets } from '../_base/deformable-lr.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

const ENCODER_LAYERS = 2;
const DECODER_LAYERS = 3;

export default defineConfig({
  seed: 42,
  workDir: '../../work_dirs/dino-mnist-student',
  model: {
    type: 'dino',
    numClasses: 10,
    classNames: MNIST_CLASS_NAMES,
    backbone: { type: 'resnet', depth: 18, baseWidth: 16, blocks: [2, 2, 2], returnStages: [1, 2], norm: 'batch' },
    numFeatureLevels: 3,
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
  data: mnistData(8000),
  evaluator: { type: 'coco' },
  train: {
    maxIters: 6000,
    optimizer: { type: 'adamw', lr: 2e-4, weightDecay: 1e-4, paramGroups: slowOffsets(ENCODER_LAYERS, DECODER_LAYERS) },
    clipGradNorm: 0.1,
    evalInterval: 1000,
    checkpointInterval: 1000,
    logInterval: 50,
  },
});
