// @detkit/kd-detr: KD-DETR distillation through shared, specialised distillation queries.
export * from './kd-detr.js';
export { plugin as default } from './kd-detr.js';

export const PACKAGE_NAME = '@detkit/kd-detr';
