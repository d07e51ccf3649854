// The first Deformable DETR -> Deformable DETR arm of #12: configs/kd-detr/mnist-deformable-kd-detr.ts
// with the DAB-DETR lambdas (cls 1, l1 5, giou 2), as that config shipped until 0.3x measured
// better on both seeds. Its runs (deformable-default-seed*) ran under the config's name.
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors';

export default defineConfig({
  extends: '../../../../../configs/kd-detr/mnist-deformable-kd-detr.ts',
  distill: { weights: { cls: 1, l1: 5, giou: 2 } },
});
