// The loss-balance sweep of heterogeneous KD (#13) with the stronger teacher:
// configs/kd-detr/mnist-deformable-to-faster-rcnn.ts (Deformable DETR teacher, AP 0.876) with every
// KD weight scaled by 0.1 (cls 0.1, l1 0.5, giou 0.2 instead of 1 / 5 / 2), as dab-x0.1.ts: the
// homogeneous weights make the KD terms ~4x Faster R-CNN's own losses.
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors';

export default defineConfig({
  extends: '../../../../../configs/kd-detr/mnist-deformable-to-faster-rcnn.ts',
  distill: { weights: { cls: 0.1, l1: 0.5, giou: 0.2 } },
});
