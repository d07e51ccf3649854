// The detectors: backbones, transformer parts, the DETR family with the query-group contract,
// Faster R-CNN with the RoI contract, and post-processing. Re-exported by the package barrel.
import type { PluginContext } from '@detkit/core';
import { registerDetectors as registerDetrFamily } from './detr/register.js';
import { registerFasterRcnn } from './faster-rcnn/register.js';

export * from './backbone/index.js';
export * from './transformer/index.js';
export * from './contract/index.js';
export * from './postprocess/index.js';
export * from './detr/detr-base.js';
export * from './detr/detr.js';
export * from './dab-detr/index.js';
export * from './deformable-detr/index.js';
export * from './dino/index.js';
export * from './faster-rcnn/index.js';

/** Registers every detector and backbone of this package. */
export function registerDetectors(ctx: PluginContext): void {
  registerDetrFamily(ctx);
  registerFasterRcnn(ctx);
}
