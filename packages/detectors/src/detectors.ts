// The DETR-family detectors: backbones, transformer parts, DETR, DAB-DETR, the query-group
// contract and post-processing. Re-exported by the package barrel.
export * from './backbone/index.js';
export * from './transformer/index.js';
export * from './contract/index.js';
export * from './postprocess/index.js';
export * from './detr/detr-base.js';
export * from './detr/detr.js';
export * from './dab-detr/index.js';
export * from './deformable-detr/index.js';
export { registerDetectors } from './detr/register.js';
