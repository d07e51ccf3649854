// The loss-balance sweep of heterogeneous KD (#13): configs/kd-detr/mnist-dab-to-faster-rcnn.ts with
// every KD weight scaled by 0.3 (cls 0.3, l1 1.5, giou 0.6 instead of 1 / 5 / 2): the homogeneous
// weights make the KD terms ~4x Faster R-CNN's own losses.
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors';

export default defineConfig({
  extends: '../../../../../configs/kd-detr/mnist-dab-to-faster-rcnn.ts',
  distill: { weights: { cls: 0.3, l1: 1.5, giou: 0.6 } },
});
