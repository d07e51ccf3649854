// DAB-DETR teacher on MNIST-detection: a ResNet-18-like backbone at 1/2 width cut after two
// stages (stride 8: an 8x8 memory on 64x64 canvases, which localises 13-38 px digits far better
// than stride 16), d=128, 3 encoder + 4 decoder layers, 50 queries (at most 4 digits per image).
// The KD-DETR teacher for mnist-student.ts (same classes and box format). Sized to train on one
// wasm core (~0.6 s/iteration at batch 8): the ResNet-34 / d=256 / 6+6 design measured 4 s/iteration.
// Datasets, detectors and hooks are builtin plugins (loaded by the CLI). Run: npx detkit train configs/dab-detr/mnist-teacher.ts
import { defineConfig } from '@detkit/core/config';
import { MNIST_CLASS_NAMES, mnistData } from '../_base/mnist-data.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  seed: 42,
  workDir: '../../work_dirs/dab-detr-mnist-teacher',
  model: {
    type: 'dab-detr',
    numClasses: 10,
    classNames: MNIST_CLASS_NAMES,
    backbone: { type: 'resnet', depth: 18, baseWidth: 32, blocks: [2, 2], norm: 'batch' },
    hiddenDim: 128,
    numHeads: 8,
    numEncoderLayers: 3,
    numDecoderLayers: 4,
    dimFeedforward: 512,
    dropout: 0,
    numQueries: 50,
  },
  data: mnistData(16000),
  evaluator: { type: 'coco' },
  train: {
    // The shipped checkpoint's schedule: 5000 iterations, lr x0.1 from iteration 4400.
    maxIters: 5000,
    optimizer: { type: 'adamw', lr: 2e-4, weightDecay: 1e-4 },
    lrSchedule: { type: 'lr-schedule', policy: 'step', milestones: [4400], gamma: 0.1 },
    clipGradNorm: 0.1,
    evalInterval: 500,
    checkpointInterval: 500,
    logInterval: 50,
  },
});
