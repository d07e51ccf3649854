// The first arm of the heterogeneous table (#13): configs/kd-detr/mnist-dab-to-faster-rcnn.ts with
// the homogeneous KD weights (cls 1, l1 5, giou 2), as that config shipped until the loss-balance
// sweep; it now ships a tenth of them. Its run (dab-default-seed0) ran under the config's old name.
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors';

export default defineConfig({
  extends: '../../../../../configs/kd-detr/mnist-dab-to-faster-rcnn.ts',
  distill: { weights: { cls: 1, l1: 5, giou: 2 } },
});
