// The first cross-architecture arm of #12: configs/kd-detr/mnist-dab-to-deformable.ts
// with the DAB-DETR lambdas (cls 1, l1 5, giou 2), as that config shipped until 0.3x measured
// better. Its run (dab-default-seed0) ran under the config's name.
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors';

export default defineConfig({
  extends: '../../../../../configs/kd-detr/mnist-dab-to-deformable.ts',
  distill: { weights: { cls: 1, l1: 5, giou: 2 } },
});
