import type { Series } from './chart.js';
import { apAtIter, evaluatedIters } from './evaluated-ap.js';
import { meanStd } from './report.js';
import type { TrainingResult } from './run-training.js';

/**
 * One chart line for runs of one variant over seeds: validation AP (percent) at each evaluated
 * iteration, the mean over the runs evaluated there, with a min..max band.
 */
export function seedMeanApSeries(label: string, color: string, runs: readonly TrainingResult[]): Series {
  const iters = evaluatedIters(runs);
  const at = (it: number) => runs.map((r) => apAtIter(r, it)).filter((x): x is number => x !== undefined).map((x) => 100 * x);
  return {
    label,
    color,
    points: iters.map((it) => [it, meanStd(at(it)).mean]),
    band: iters.map((it) => [it, Math.min(...at(it)), Math.max(...at(it))]),
  };
}
