// KD-DETR, DINO -> DINO on MNIST-detection: the student of configs/dino/mnist-student.ts distilled
// from the teacher of configs/dino/mnist-teacher.ts through the same consistent distillation points
// as mnist-kd-detr.ts (300 general points + the teacher's 50 queries, T = 10, lambdas 1/5/2,
// foreground re-weighting). The student's distillation groups are decoded in the same pass as its
// denoising groups and matching queries, isolated from both; the teacher runs in eval mode, without
// denoising. DINO's queries are selected per image, so the specific points are the teacher's 50
// selected anchors of each image (anchors only: zero content for both models). Teacher: the
// shipped checkpoint (AP 0.857; checkpoints/README.md).
// Run from the repo root: npx detkit distill configs/kd-detr/mnist-dino-kd-detr.ts
import { defineConfig } from '@detkit/core/config';
import { KD_DETR_LOSS } from '../_base/kd-detr-loss.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  extends: '../dino/mnist-student.ts',
  plugins: ['@detkit/kd-detr'],
  workDir: '../../work_dirs/kd-detr-mnist-dino',
  distill: {
    type: 'kd-detr',
    method: 'kd-detr',
    teacher: { config: '../dino/mnist-teacher.ts', checkpoint: '../../checkpoints/dino-mnist-teacher.safetensors' },
    samplers: [{ type: 'general', count: 300 }, { type: 'specific' }],
    ...KD_DETR_LOSS,
  },
});
