export * from './detr-base.js';
export * from './detr.js';
