export * from './optimizer.js';
export * from './param-groups.js';
export * from './named-optimizer.js';
export * from './adam.js';
export * from './sgd.js';
export * from './clip-grad-norm.js';
export * from './create.js';
