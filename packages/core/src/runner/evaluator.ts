import type { Dataset, Detection } from '../data/types.js';
import type { Metrics } from './hook.js';

/**
 * Scores detections against a dataset's ground truth (original image coordinates, crowd
 * regions included). Registered under the `evaluator` kind; metric values are fractions
 * (AP 0.60, not 60.0).
 */
export interface Evaluator {
  evaluate(detections: Detection[], groundTruth: Dataset): Promise<Metrics> | Metrics;
}
