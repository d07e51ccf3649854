// KD-DETR on MNIST-detection: the DAB-DETR student of configs/dab-detr/mnist-student.ts
// distilled from the teacher of configs/dab-detr/mnist-teacher.ts (300 general points + the
// teacher's 50 queries, T = 10, lambdas 1/5/2, foreground re-weighting).
// Run from the repo root: npx detkit distill configs/kd-detr/mnist-kd-detr.ts
// (paths are relative to this file).
import { defineConfig } from '@detkit/core/config';
import { KD_DETR_LOSS } from '../_base/kd-detr-loss.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  extends: '../dab-detr/mnist-student.ts',
  plugins: ['@detkit/kd-detr'],
  workDir: '../../work_dirs/kd-detr-mnist',
  distill: {
    type: 'kd-detr',
    method: 'kd-detr',
    teacher: { config: '../dab-detr/mnist-teacher.ts', checkpoint: '../../checkpoints/dab-detr-mnist-teacher.safetensors' },
    samplers: [{ type: 'general', count: 300 }, { type: 'specific' }],
    ...KD_DETR_LOSS,
  },
});
