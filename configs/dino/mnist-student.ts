// DINO student on MNIST-detection (64x64 canvases), on the Deformable DETR student's model shape
// (configs/deformable-detr/mnist-student.ts): a ResNet-18-like backbone at 1/4 width, the last two
// of three stages returned (strides 8, 16) plus one extra stride-2 level, 3 levels and 84 memory
// tokens; d=128, 8 heads x 4 points, 2 encoder + 3 decoder layers, 50 matching queries (the top-50
// encoder proposals of each image), denoising as the DINO teacher (budget 20, label noise 0.5,
// box noise 0.4), look-forward-twice. Sampling offsets train at lr x0.1.
// Run: npx detkit train configs/dino/mnist-student.ts
// Everything but the model type, DINO's keys, the work dir and the lr groups comes from the
// Deformable DETR student it extends; the model shape is the one both spread
// (configs/_base/mnist-deformable-models.ts).
import { defineConfig } from '@detkit/core/config';
import { mnistDeformableStudent, mnistDinoKeys, STUDENT_LAYERS } from '../_base/mnist-deformable-models.js';
import { slowOffsets } from '../_base/deformable-lr.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  extends: '../deformable-detr/mnist-student.ts',
  workDir: '../../work_dirs/dino-mnist-student',
  model: {
    type: 'dino',
    ...mnistDeformableStudent,
    ...mnistDinoKeys,
  },
  train: {
    // Deformable DETR's optimizer, without its anchor group (DINO's anchors are encoder proposals).
    optimizer: { paramGroups: slowOffsets(STUDENT_LAYERS.encoder, STUDENT_LAYERS.decoder) },
  },
});
