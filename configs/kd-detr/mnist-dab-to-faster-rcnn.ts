// Heterogeneous KD-DETR on MNIST-detection: the Faster R-CNN of configs/faster-rcnn/mnist.ts
// distilled from the shipped DAB-DETR teacher (configs/dab-detr/mnist-teacher.ts, AP 0.73).
// Distillation points are the student's own RPN proposals of the iteration (the best 100 per
// image, detached), as in the paper: the teacher decodes each as a query (anchor = the box), the
// student pools it as an extra RoI. Random boxes (the `general` sampler) are not used here: a
// DETR query anchored anywhere finds a digit through attention, and asking a RoI head for a box
// outside its RoI cost the student 15 AP at 500 iterations (README). T = 10, lambdas 1/5/2 and
// foreground re-weighting as in the homogeneous case.
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
    samplers: [{ type: 'proposals', count: 100 }],
    ...KD_DETR_LOSS,
  },
});
