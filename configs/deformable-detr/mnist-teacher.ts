// Deformable DETR teacher on MNIST-detection (64x64 canvases): a ResNet-18-like backbone at 1/2
// width with three stages returned (strides 4, 8, 16: 16x16, 8x8, 4x4 maps) plus one extra
// stride-2 level (stride 32: 2x2), so 4 levels, 340 memory tokens. Why these strides: the
// reference's 8/16/32 + 64 would leave 1x1 and 2x2 maps here (a 1x1 level samples one cell
// whatever the offset; bilinear sampling needs at least 2x2 to mean anything), while 13-38 px
// digits are resolved by the stride-4..16 maps. d=128, 8 heads x 4 points, 3 encoder + 4 decoder
// layers, 50 anchor queries. Sampling offsets and anchors train at lr x0.1 (the reference's
// lr_linear_proj_mult). Run: npx detkit train configs/deformable-detr/mnist-teacher.ts
import { defineConfig } from '@detkit/core/config';
import { mnistData } from '../_base/mnist-data.js';
import { mnistDeformableTeacher, TEACHER_LAYERS } from '../_base/mnist-deformable-models.js';
import { slowOffsetsAndAnchors } from '../_base/deformable-lr.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  seed: 42,
  workDir: '../../work_dirs/deformable-detr-mnist-teacher',
  model: { type: 'deformable-detr', ...mnistDeformableTeacher },
  data: mnistData(16000),
  evaluator: { type: 'coco' },
  train: {
    // The DAB-DETR teacher's schedule (5000 iterations, lr x0.1 from 4400); not yet run for this model.
    maxIters: 5000,
    optimizer: { type: 'adamw', lr: 2e-4, weightDecay: 1e-4, paramGroups: slowOffsetsAndAnchors(TEACHER_LAYERS.encoder, TEACHER_LAYERS.decoder) },
    lrSchedule: { type: 'lr-schedule', policy: 'step', milestones: [4400], gamma: 0.1 },
    clipGradNorm: 0.1,
    evalInterval: 500,
    checkpointInterval: 500,
    logInterval: 50,
  },
});
