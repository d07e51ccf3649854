// DAB-DETR teacher on MNIST-detection: a ResNet-34-like backbone at 1/2 width (3 stages,
// stride 16), d=256, 6 encoder + 6 decoder layers, 100 queries. The KD-DETR teacher for
// mnist-student.ts (same classes and box format).
// Datasets, detectors and hooks are builtin plugins (loaded by the CLI). Run: npx detkit train configs/dab-detr/mnist-teacher.ts
import { defineConfig } from '@detkit/core';

export default defineConfig({
  seed: 42,
  workDir: 'work_dirs/dab-detr-mnist-teacher',
  model: {
    type: 'dab-detr',
    numClasses: 10,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    backbone: { type: 'resnet', depth: 34, baseWidth: 32, blocks: [3, 4, 6], norm: 'batch' },
    hiddenDim: 256,
    numHeads: 8,
    numEncoderLayers: 6,
    numDecoderLayers: 6,
    dimFeedforward: 1024,
    dropout: 0,
    numQueries: 100,
  },
  data: {
    train: { type: 'mnist-detection', split: 'train', count: 8000, canvasSize: 64 },
    val: { type: 'mnist-detection', split: 'val', count: 500, canvasSize: 64 },
    batchSize: 8,
    loader: { type: 'default' },
  },
  evaluator: { type: 'coco' },
  train: {
    maxIters: 10000,
    optimizer: { type: 'adamw', lr: 1e-4, weightDecay: 1e-4 },
    clipGradNorm: 0.1,
    evalInterval: 1000,
    checkpointInterval: 1000,
    logInterval: 50,
  },
});
