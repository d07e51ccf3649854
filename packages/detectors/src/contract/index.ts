export * from './query-groups.js';
export * from './group-mask.js';
export * from './attention-layout.js';
export * from './roi-distillable.js';
