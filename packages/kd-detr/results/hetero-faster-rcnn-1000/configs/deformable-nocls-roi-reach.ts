// deformable-nocls-reach.ts with the L1 term in the student's delta space (boxSpace 'roi').
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors';

export default defineConfig({
  extends: './deformable-nocls-reach.ts',
  distill: { boxSpace: 'roi' },
});
