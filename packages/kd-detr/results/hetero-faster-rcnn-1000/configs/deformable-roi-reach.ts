// deformable-reach.ts with the L1 term in the student's box space (boxSpace 'roi': R-CNN deltas
// relative to the proposal, weights 10 / 10 / 5 / 5, as Faster R-CNN's own box loss).
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors';

export default defineConfig({
  extends: './deformable-reach.ts',
  distill: { boxSpace: 'roi' },
});
