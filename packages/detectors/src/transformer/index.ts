export * from './position-encoding.js';
export * from './attention.js';
export * from './encoder.js';
export * from './decoder.js';
export * from './detach.js';
export * from './tidy.js';
