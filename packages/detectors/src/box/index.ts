export * from './boxOps.js';
export * from './boxOps64.js';
