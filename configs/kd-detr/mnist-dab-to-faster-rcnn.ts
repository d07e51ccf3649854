// Heterogeneous KD-DETR on MNIST-detection: the Faster R-CNN of configs/faster-rcnn/mnist.ts
// distilled from the shipped DAB-DETR teacher (configs/dab-detr/mnist-teacher.ts, AP 0.73).
// Distillation points are boxes: 100 general (random) boxes + the teacher's 50 anchors, which the
// teacher decodes as queries and the student pools as extra RoIs; T = 10, lambdas 1/5/2 and
// foreground re-weighting as in the homogeneous case. 100 general points, not the paper's 300:
// every point is an extra RoI for every image (8 x 150 = 1200 RoIs beside 512 sampled ones).
// Run from the repo root: npx detkit distill configs/kd-detr/mnist-dab-to-faster-rcnn.ts
import { defineConfig } from '@detkit/core/config';
import { KD_DETR_LOSS } from '../_base/kd-detr-loss.js';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  extends: '../faster-rcnn/mnist.ts',
  plugins: ['@detkit/kd-detr'],
  workDir: '../../work_dirs/kd-detr-mnist-dab-to-faster-rcnn',
  distill: {
    type: 'kd-detr',
    method: 'kd-detr-hetero',
    teacher: { config: '../dab-detr/mnist-teacher.ts', checkpoint: '../../checkpoints/dab-detr-mnist-teacher.safetensors' },
    samplers: [{ type: 'general', count: 100 }, { type: 'specific' }],
    ...KD_DETR_LOSS,
  },
});
