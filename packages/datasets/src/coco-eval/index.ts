export { evaluateCoco } from './evaluate.js';
export { formatStats, STAT_SPECS } from './summarize.js';
export { IOU_THRESHOLDS, REC_THRESHOLDS, MAX_DETS, AREA_RANGES, AREA_LABELS } from './params.js';
export {
  COCO_STAT_KEYS,
  type CocoStatKey,
  type CocoStats,
  type CocoEvalGroundTruth,
  type CocoEvalImage,
  type CocoEvalAnnotation,
  type CocoEvalCategory,
  type CocoResult,
  type CocoEvalResult,
  type CocoCategoryAp,
  type CocoEvalTables,
} from './types.js';
export { CocoEvaluator, registerEvaluators, type CocoEvaluatorOptions } from './evaluator.js';
export {
  datasetToCocoGroundTruth,
  detectionsToCocoResults,
  categoryIdsOf,
  type CocoEvalDatasetExtras,
  type CocoEvalSampleExtras,
} from './from-dataset.js';
export { writeCocoResults } from './results-file.js';
export { evalFilesCommand, type EvalFilesOptions, type EvalFilesReport } from './cli.js';
export { readJsonFile } from './json-file.js';
