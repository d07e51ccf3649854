// A lever of the Deformable DETR table (#12): configs/kd-detr/mnist-deformable-kd-detr.ts
// distilling for the first 1000 iterations only (distill.until), then the student trains alone.
// Distillation gives this student a head start at 1000 iterations (+1.8 AP, 2 seeds) that turns
// into a deficit by 3000 (seed 0: -1.5): keep the head start, drop the drag.
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors';

export default defineConfig({
  extends: '../../../../../configs/kd-detr/mnist-deformable-kd-detr.ts',
  distill: { until: 1000 },
});
