export * from './focalLoss.js';
export * from './boxLosses.js';
export * from './klDiv.js';
export * from './gatherRows.js';
export * from './setCriterion.js';
