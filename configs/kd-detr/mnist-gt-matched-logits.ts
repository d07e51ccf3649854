// Baseline as the KD-DETR reference code compares against: teacher and student each
// Hungarian-matched to the ground truth, the student imitating the teacher through the query
// pairs that matched the same box (KL x10 at T=10, smooth L1 with beta 1/9, no foreground weights).
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  extends: '../dab-detr/mnist-student.ts',
  plugins: ['@detkit/kd-detr'],
  workDir: '../../work_dirs/kd-detr-mnist-gt-matched',
  distill: {
    type: 'kd-detr',
    method: 'gt-matched-logits',
    teacher: { config: '../dab-detr/mnist-teacher.ts', checkpoint: '../../checkpoints/dab-detr-mnist-teacher.safetensors' },
  },
});
