// KD-DETR across architectures on MNIST-detection: the shipped DAB-DETR teacher
// (configs/dab-detr/mnist-teacher.ts, checkpoints/dab-detr-mnist-teacher.safetensors) distilled
// into the Deformable DETR student of configs/deformable-detr/mnist-student.ts. A distillation
// point is a box with zero content: each model turns it into its own reference point and
// positional query, so the points are consistent although the decoders differ. Same loss as
// mnist-deformable-kd-detr.ts (0.3x the DAB-DETR lambdas, for this student).
// Run from the repo root: npx detkit distill configs/kd-detr/mnist-dab-to-deformable.ts
import { defineConfig } from '@detkit/core/config';
import { DEFORMABLE_STUDENT_KD_WEIGHTS, KD_DETR_LOSS } from '../_base/kd-detr-loss.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  extends: '../deformable-detr/mnist-student.ts',
  plugins: ['@detkit/kd-detr'],
  workDir: '../../work_dirs/kd-detr-mnist-dab-to-deformable',
  distill: {
    type: 'kd-detr',
    method: 'kd-detr',
    teacher: { config: '../dab-detr/mnist-teacher.ts', checkpoint: '../../checkpoints/dab-detr-mnist-teacher.safetensors' },
    samplers: [{ type: 'general', count: 300 }, { type: 'specific' }],
    ...KD_DETR_LOSS,
    weights: DEFORMABLE_STUDENT_KD_WEIGHTS, // 0.3x: see the fragment
  },
});
