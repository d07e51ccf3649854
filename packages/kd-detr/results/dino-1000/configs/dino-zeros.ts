// The first DINO -> DINO arm, as configs/kd-detr/mnist-dino-kd-detr.ts was when it ran: specific
// points with zero content (the sampler's default). The shipped config now decodes them with each
// model's own learned content (dino-content.ts, identical to it).
import { defineConfig } from '@detkit/core/config';
import type {} from '@detkit/detectors';

export default defineConfig({
  extends: '../../../../../configs/kd-detr/mnist-dino-kd-detr.ts',
  distill: { samplers: [{ type: 'general', count: 300 }, { type: 'specific', content: 'zeros' }] },
});
