// Baseline: distil the MNIST student through Hungarian-matched detection queries (the
// "inconsistent points" KD-DETR argues against), with the same loss as mnist-kd-detr.ts.
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  extends: '../dab-detr/mnist-student.ts',
  plugins: ['@detkit/kd-detr'],
  workDir: '../../work_dirs/kd-detr-mnist-hungarian',
  distill: {
    type: 'kd-detr',
    method: 'hungarian-logits',
    teacher: { config: '../dab-detr/mnist-teacher.ts', checkpoint: '../../checkpoints/dab-detr-mnist-teacher.safetensors' },
  },
});
