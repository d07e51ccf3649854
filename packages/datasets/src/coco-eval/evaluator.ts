import { DetkitError, formatValue, type Dataset, type Detection, type Evaluator, type Metrics, type PluginContext } from '@detkit/core';
import { evaluateCoco } from './evaluate.js';
import { categoryIdsOf, datasetToCocoGroundTruth, detectionsToCocoResults, type CocoEvalDatasetExtras } from './from-dataset.js';
import { COCO_STAT_KEYS } from './types.js';

export interface CocoEvaluatorOptions {
  /** Add `AP/<className>` per category (default true). */
  perClass?: boolean;
}

/**
 * The 'coco' evaluator: pycocotools bbox metrics as fractions (AP, AP50, ..., ARl, -1 where a
 * setting has no GT) plus `AP/<className>`. GT comes from the dataset's samples.
 */
export class CocoEvaluator implements Evaluator {
  constructor(private readonly options: CocoEvaluatorOptions = {}) {}

  async evaluate(detections: Detection[], groundTruth: Dataset & CocoEvalDatasetExtras): Promise<Metrics> {
    const gt = await datasetToCocoGroundTruth(groundTruth);
    const catIds = categoryIdsOf(groundTruth);
    const result = evaluateCoco(gt, detectionsToCocoResults(detections, catIds));
    const metrics: Metrics = {};
    for (const key of COCO_STAT_KEYS) metrics[key] = result.stats[key];
    if (this.options.perClass ?? true) {
      const names = new Map(catIds.map((id, l) => [id, groundTruth.classNames[l]]));
      for (const c of result.perCategory) metrics[`AP/${names.get(c.categoryId) ?? c.categoryId}`] = c.ap;
    }
    return metrics;
  }
}

/** Registers the 'coco' evaluator (params: { perClass?: boolean }). */
export function registerEvaluators(ctx: PluginContext): void {
  ctx.register<Evaluator>('evaluator', 'coco', (params) => {
    const { perClass } = params;
    if (perClass !== undefined && typeof perClass !== 'boolean') {
      throw new DetkitError('CONFIG_INVALID', `evaluator 'coco': perClass must be a boolean, got ${formatValue(perClass, 80)}`, { key: 'perClass' });
    }
    return new CocoEvaluator({ perClass });
  }, {
    description: 'COCO bbox AP/AR with pycocotools semantics, plus per-class AP',
  });
}
