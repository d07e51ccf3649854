// Deformable DETR student on MNIST-detection (64x64 canvases): a ResNet-18-like backbone at 1/4
// width, three stages of which the last two are returned (strides 8, 16: 8x8 and 4x4 maps), plus
// one extra stride-2 level (stride 32: 2x2), so 3 levels and 84 memory tokens. Every level is at
// least 2x2: a 1x1 level samples one cell whatever the offset, so a further level would add
// nothing. d=128, 8 heads x 4 points, 2 encoder + 3 decoder layers, 50 anchor queries, like the
// DAB-DETR student. Sampling offsets and anchors train at lr x0.1 (the reference's lr_linear_proj_mult).
// Run: npx detkit train configs/deformable-detr/mnist-student.ts
import { defineConfig } from '@detkit/core/config';
import { MNIST_CLASS_NAMES, mnistData } from '../_base/mnist-data.js';
import { slowOffsetsAndAnchors } from '../_base/deformable-lr.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

const ENCODER_LAYERS = 2;
const DECODER_LAYERS = 3;

export default defineConfig({
  seed: 42,
  workDir: '../../work_dirs/deformable-detr-mnist-student',
  model: {
    type: 'deformable-detr',
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
  },
  data: mnistData(8000),
  evaluator: { type: 'coco' },
  train: {
    maxIters: 6000,
    optimizer: { type: 'adamw', lr: 2e-4, weightDecay: 1e-4, paramGroups: slowOffsetsAndAnchors(ENCODER_LAYERS, DECODER_LAYERS) },
    clipGradNorm: 0.1,
    evalInterval: 1000,
    checkpointInterval: 1000,
    logInterval: 50,
  },
});
