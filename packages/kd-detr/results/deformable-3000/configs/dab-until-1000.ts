// A lever of the Deformable DETR table (#12): configs/kd-detr/mnist-dab-to-deformable.ts
// distilling for the first 1000 iterations only (distill.until), then the student trains alone.
// Distillation gives this student a head start at 1000 iterations (+2.3 AP, 2 seeds, from the DAB-DETR teacher) that turns
// into a deficit by 3000 (seed 0: -2.5): keep the head start, drop the drag.
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors';

export default defineConfig({
  extends: '../../../../../configs/kd-detr/mnist-dab-to-deformable.ts',
  distill: { until: 1000 },
});
