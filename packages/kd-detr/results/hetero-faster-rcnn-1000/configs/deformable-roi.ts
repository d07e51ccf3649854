// Heterogeneous KD (#13), box term in the student's space: deformable-nocls.ts with boxSpace 'roi'
// (the L1 term on R-CNN deltas relative to each proposal, weights 10 / 10 / 5 / 5, as the student's
// own box loss). In image space a point's L1 gradient is ~50x smaller than one positive RoI's in the
// student's box loss; in delta space lambda_L1 = 5 puts the two on the same scale.
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors';

export default defineConfig({
  extends: '../../../../../configs/kd-detr/mnist-deformable-to-faster-rcnn.ts',
  distill: { boxSpace: 'roi', weights: { cls: 0, l1: 5, giou: 2 } },
});
