// DINO teacher on MNIST-detection (64x64 canvases), on the Deformable DETR teacher's model shape
// (configs/deformable-detr/mnist-teacher.ts): a ResNet-18-like backbone at 1/2 width with three
// stages returned (strides 4, 8, 16) plus one extra stride-2 level, 4 levels and 340 memory
// tokens; d=128, 8 heads x 4 points, 3 encoder + 4 decoder layers. DINO's parts: the 50
// matching queries are the top-50 encoder proposals of each image (mixed query selection),
// contrastive denoising with a budget of 20 queries (groups = 20 / the batch's largest digit
// count, 2 x that count queries each: with up to 4 digits, 5 groups of 8), label noise 0.5, box
// noise 0.4, look-forward-twice refinement. Sampling offsets train at lr x0.1 (the reference's
// lr_linear_proj_mult). Run: npx detkit train configs/dino/mnist-teacher.ts
// Everything but the model type, DINO's keys, the work dir, the schedule and the lr groups comes
// from the Deformable DETR teacher it extends; the model shape is the one both spread
// (configs/_base/mnist-deformable-models.ts).
import { defineConfig } from '@detkit/core/config';
import { mnistDeformableTeacher, mnistDinoKeys, TEACHER_LAYERS } from '../_base/mnist-deformable-models.js';
import { slowOffsets } from '../_base/deformable-lr.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  extends: '../deformable-detr/mnist-teacher.ts',
  workDir: '../../work_dirs/dino-mnist-teacher',
  model: {
    type: 'dino',
    ...mnistDeformableTeacher,
    ...mnistDinoKeys,
  },
  train: {
    // Deformable DETR's optimizer, without its anchor group (DINO's anchors are encoder proposals).
    maxIters: 3000,
    optimizer: { paramGroups: slowOffsets(TEACHER_LAYERS.encoder, TEACHER_LAYERS.decoder) },
    lrSchedule: { type: 'lr-schedule', milestones: [2600] },
  },
});
