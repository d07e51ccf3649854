export * from './ms-deform-attn.js';
export * from './levels.js';
export * from './encoder.js';
export * from './decoder.js';
export * from './transformer.js';
export * from './deformable-detr.js';
export { checkDeformableOptions } from './validate.js';
