export * from './denoising.js';
export * from './query-selection.js';
export * from './decoder.js';
export * from './transformer.js';
export * from './criterion.js';
export * from './dino.js';
export { checkDinoOptions } from './validate.js';
