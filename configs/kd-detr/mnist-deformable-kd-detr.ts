// KD-DETR, Deformable DETR -> Deformable DETR on MNIST-detection: the student of
// configs/deformable-detr/mnist-student.ts distilled from the teacher of mnist-teacher.ts through
// the same consistent distillation points as mnist-kd-detr.ts (300 general + the teacher's 50
// queries, T = 10, foreground re-weighting) with 0.3x its lambdas (0.3 / 1.5 / 0.6:
// DEFORMABLE_STUDENT_KD_WEIGHTS). Teacher: the shipped checkpoint (AP 0.876 on MNIST-detection
// validation; checkpoints/README.md).
// Run from the repo root: npx detkit distill configs/kd-detr/mnist-deformable-kd-detr.ts
import { defineConfig } from '@detkit/core/config';
import { DEFORMABLE_STUDENT_KD_WEIGHTS, KD_DETR_LOSS } from '../_base/kd-detr-loss.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  extends: '../deformable-detr/mnist-student.ts',
  plugins: ['@detkit/kd-detr'],
  workDir: '../../work_dirs/kd-detr-mnist-deformable',
  distill: {
    type: 'kd-detr',
    method: 'kd-detr',
    teacher: { config: '../deformable-detr/mnist-teacher.ts', checkpoint: '../../checkpoints/deformable-detr-mnist-teacher.safetensors' },
    samplers: [{ type: 'general', count: 300 }, { type: 'specific' }],
    ...KD_DETR_LOSS,
    weights: DEFORMABLE_STUDENT_KD_WEIGHTS, // 0.3x: see the fragment
  },
});
