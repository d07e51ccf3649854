export * from './decoder-layer.js';
export * from './decoder.js';
export * from './dab-detr.js';
