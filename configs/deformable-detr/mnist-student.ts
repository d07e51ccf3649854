// Deformable DETR student on MNIST-detection (64x64 canvases): a ResNet-18-like backbone at 1/4
// width, three stages of which the last two are returned (strides 8, 16: 8x8 and 4x4 maps), plus
// one extra stride-2 level (stride 32: 2x2), so 3 levels and 84 memory tokens. Every level is at
// least 2x2: a 1x1 level samples one cell whatever the offset, so a further level would add
// nothing. d=128, 8 heads x 4 points, 2 encoder + 3 decoder layers, 50 anchor queries, like the
// DAB-DETR student. Sampling offsets and anchors train at lr x0.1 (the reference's lr_linear_proj_mult).
// Run: npx detkit train configs/deformable-detr/mnist-student.ts
import { defineConfig } from '@detkit/core/config';
import { mnistData } from '../_base/mnist-data.js';
import { mnistDeformableStudent, STUDENT_LAYERS } from '../_base/mnist-deformable-models.js';
import { slowOffsetsAndAnchors } from '../_base/deformable-lr.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  seed: 42,
  workDir: '../../work_dirs/deformable-detr-mnist-student',
  model: { type: 'deformable-detr', ...mnistDeformableStudent },
  data: mnistData(8000),
  evaluator: { type: 'coco' },
  train: {
    maxIters: 6000,
    optimizer: { type: 'adamw', lr: 2e-4, weightDecay: 1e-4, paramGroups: slowOffsetsAndAnchors(STUDENT_LAYERS.encoder, STUDENT_LAYERS.decoder) },
    clipGradNorm: 0.1,
    evalInterval: 1000,
    checkpointInterval: 1000,
    logInterval: 50,
  },
});
