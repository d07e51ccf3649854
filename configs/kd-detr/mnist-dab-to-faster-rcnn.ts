// Heterogeneous KD-DETR on MNIST-detection: the Faster R-CNN of configs/faster-rcnn/mnist.ts
// distilled from the shipped DAB-DETR teacher (configs/dab-detr/mnist-teacher.ts, AP 0.73).
// Distillation points are the student's own RPN proposals of the iteration (the best 100 per
// image, detached), as in the paper: the teacher decodes each as a query (anchor = the box), the
// student pools it as an extra RoI. Random boxes (the `general` sampler) are not used here: a
// DETR query anchored anywhere finds a digit through attention, and asking a RoI head for a box
// outside its RoI cost the student 15 AP at 500 iterations (README). T = 10 and foreground
// re-weighting as in the homogeneous case, but a tenth of its lambdas (cls 0.1, l1 0.5, giou 0.2):
// with 1/5/2 the KD terms are ~4x Faster R-CNN's own losses and cost the student 12.5 AP at 1000
// iterations (58.4 vs 70.9, seed 0; that arm: results/hetero-faster-rcnn-1000/configs/dab-default.ts).
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
    weights: { cls: 0.1, l1: 0.5, giou: 0.2 },
  },
});
