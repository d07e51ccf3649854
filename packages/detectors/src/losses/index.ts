export * from './focalLoss.js';
export * from './boxLosses.js';
export * from './layer-term-name.js';
export * from './gatherRows.js';
export * from './setCriterion.js';
