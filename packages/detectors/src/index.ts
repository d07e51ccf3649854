// @detkit/detectors: box ops, matcher, losses, backbones, transformer parts, the DETR family
// with the query-group contract, and the plugin that registers them (a CLI builtin).
import type { DetkitPlugin } from '@detkit/core';
import { registerDetectors } from './detectors.js';

export * from './box/index.js';
export * from './matcher/index.js';
export * from './losses/index.js';
export * from './detectors.js';
export type { BackboneConfig, DetrConfigParams, DeformableDetrConfigParams, DinoConfigParams, FasterRcnnConfigParams } from './config-params.js';

export const plugin: DetkitPlugin = {
  name: '@detkit/detectors',
  version: '0.1.0',
  register: registerDetectors,
};
export default plugin;
