import type { Series } from './chart.js';
import { meanStd } from './report.js';
import type { TrainingResult } from './run-training.js';

/**
 * One chart line for runs of one variant over seeds: validation AP (percent) at each evaluated
 * iteration, the mean over the runs evaluated there, with a min..max band.
 */
export function seedMeanApSeries(label: string, color: string, runs: readonly TrainingResult[]): Series {
  const iters = [...new Set(runs.flatMap((r) => r.history.map((h) => h.iter)))].sort((x, y) => x - y);
  const at = (it: number) => runs.map((r) => r.history.find((h) => h.iter === it)?.metrics.AP).filter((x): x is number => x !== undefined).map((x) => 100 * x);
  return {
    label,
    color,
    points: iters.map((it) => [it, meanStd(at(it)).mean]),
    band: iters.map((it) => [it, Math.min(...at(it)), Math.max(...at(it))]),
  };
}
