export * from './types.js';
export * from './mask.js';
export * from './resnet.js';
export * from './small-cnn.js';
