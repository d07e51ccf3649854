// Heterogeneous KD-DETR on MNIST-detection with the stronger teacher: the Faster R-CNN of
// configs/faster-rcnn/mnist.ts distilled from the shipped Deformable DETR teacher
// (configs/deformable-detr/mnist-teacher.ts, AP 0.876; the DAB-DETR teacher's 0.734 is barely
// above what this student reaches alone in 1000 iterations). Same points and loss as
// mnist-dab-to-faster-rcnn.ts: the student's best 100 RPN proposals per image, decoded by the
// teacher as queries and pooled by the student as extra RoIs.
// Run from the repo root: npx detkit distill configs/kd-detr/mnist-deformable-to-faster-rcnn.ts
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors'; // its detectors' params join the type check

export default defineConfig({
  extends: './mnist-dab-to-faster-rcnn.ts',
  workDir: '../../work_dirs/kd-detr-mnist-deformable-to-faster-rcnn',
  distill: {
    teacher: { config: '../deformable-detr/mnist-teacher.ts', checkpoint: '../../checkpoints/deformable-detr-mnist-teacher.safetensors' },
  },
});
