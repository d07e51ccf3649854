import { accumulate } from './accumulate.js';
import { matchAll } from './match.js';
import { IOU_THRESHOLDS, REC_THRESHOLDS } from './params.js';
import { prepareCocoIndex } from './prepare.js';
import { categoryAp, summarize } from './summarize.js';
import type { CocoEvalGroundTruth, CocoEvalResult, CocoResult } from './types.js';

/**
 * COCO bbox evaluation with pycocotools' semantics (COCOeval, iouType 'bbox', default params):
 * evaluate() + accumulate() + summarize() in one call, on a parsed GT object and results array.
 * Throws DetkitError INVALID_ARGUMENT for malformed input or results on images not in the GT.
 */
export function evaluateCoco(gt: CocoEvalGroundTruth, results: readonly CocoResult[]): CocoEvalResult {
  const index = prepareCocoIndex(gt, results);
  const K = index.catIds.length;
  const table = matchAll(index);
  const acc = accumulate(table, K);
  const names = new Map<number, string | undefined>();
  for (const c of gt.categories) if (!names.has(c.id)) names.set(c.id, typeof c.name === 'string' ? c.name : undefined);
  return {
    stats: summarize(acc, K),
    perCategory: index.catIds.map((categoryId, k) => ({ categoryId, name: names.get(categoryId), ap: categoryAp(acc, K, k) })),
    droppedResults: index.droppedResults,
    tables: {
      iouThresholds: IOU_THRESHOLDS.slice(),
      recallThresholds: REC_THRESHOLDS.slice(),
      catIds: index.catIds,
      precision: acc.precision,
      recall: acc.recall,
    },
  };
}
