// @detkit/core/testing: the numeric checks detkit's own suites use, for plugin authors' tests:
// distances to a reference, float64 central differences, a gradient check of tfjs variables.
// Not part of the main entry: a program that trains never loads it.
export { closeness, maxAbsDiff, scaledError } from './compare.js';
export { finiteDiff, gradCheck } from './finite-diff.js';
