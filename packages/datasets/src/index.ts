// @detkit/datasets: datasets, transforms, loader, COCO evaluation and visualisation, and the
// plugin that registers them (loaded by the CLI as a builtin).
import type { DetkitPlugin } from '@detkit/core';
import { registerDatasets } from './datasets.js';
import { registerEvaluators } from './coco-eval/index.js';

export * from './datasets.js';
export type {} from './config-params.js';
export {
  evaluateCoco,
  formatStats,
  STAT_SPECS,
  COCO_STAT_KEYS,
  CocoEvaluator,
  datasetToCocoGroundTruth,
  detectionsToCocoResults,
  categoryIdsOf,
  writeCocoResults,
  evalFilesCommand,
  registerEvaluators,
} from './coco-eval/index.js';
export type {
  CocoEvalAnnotation,
  CocoStatKey,
  CocoStats,
  CocoEvalGroundTruth,
  CocoResult,
  CocoEvalResult,
  CocoEvaluatorOptions,
  EvalFilesOptions,
  EvalFilesReport,
} from './coco-eval/index.js';

export const plugin: DetkitPlugin = {
  name: '@detkit/datasets',
  version: '0.1.0',
  register(ctx) {
    registerDatasets(ctx);
    registerEvaluators(ctx);
  },
};
export default plugin;
