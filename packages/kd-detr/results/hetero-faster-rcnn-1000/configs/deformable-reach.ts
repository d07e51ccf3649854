// Heterogeneous KD (#13) with the homogeneous lambdas (1 / 5 / 2) once the points out of the RoI
// head's reach are dropped: configs/kd-detr/mnist-deformable-to-faster-rcnn.ts with
// minTeacherIou 0.5 (a proposal is distilled only where the teacher's box there overlaps it by
// >= 0.5, Faster R-CNN's own bar for a box-regression target). ~70% of the student's top-100
// proposals fail it: the teacher's query found a digit elsewhere.
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors';

export default defineConfig({
  extends: '../../../../../configs/kd-detr/mnist-deformable-to-faster-rcnn.ts',
  distill: { minTeacherIou: 0.5, weights: { cls: 1, l1: 5, giou: 2 } },
});
