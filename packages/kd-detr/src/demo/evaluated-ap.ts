import type { TrainingResult } from './run-training.js';

/** Every iteration at which any of `runs` was evaluated, ascending. */
export function evaluatedIters(runs: Iterable<TrainingResult>): number[] {
  return [...new Set([...runs].flatMap((r) => r.history.map((h) => h.iter)))].sort((x, y) => x - y);
}

/** A run's validation AP (fraction) at iteration `iter`, or undefined where it was not evaluated. */
export function apAtIter(run: TrainingResult, iter: number): number | undefined {
  return run.history.find((h) => h.iter === iter)?.metrics.AP;
}
