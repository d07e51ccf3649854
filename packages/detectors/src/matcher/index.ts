export * from './linearSumAssignment.js';
export * from './hungarianMatcher.js';
