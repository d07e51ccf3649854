import { pairedGain, signedPoints, type ApBySeed } from './claims.js';
import { apAtIter, evaluatedIters } from './evaluated-ap.js';
import { meanStd } from './report.js';
import type { TrainingResult } from './run-training.js';

/** One arm of a comparison: its runs by seed. */
export interface ArmRuns {
  label: string;
  runs: ReadonlyMap<number, TrainingResult>;
}

/** Validation AP (fraction) of each seed's run at iteration `iter`, where it was evaluated. */
function apAt(runs: ReadonlyMap<number, TrainingResult>, iter: number): ApBySeed {
  const out = new Map<number, number>();
  for (const [seed, r] of runs) {
    const ap = apAtIter(r, iter);
    if (ap !== undefined) out.set(seed, ap);
  }
  return out;
}

/**
 * A markdown table of validation AP over training: one row per arm, one column per evaluated
 * iteration; a cell is the mean over the seeds evaluated there and, for every arm after the
 * first (the baseline), the paired gain over it at that iteration (seeds both evaluated). Shows
 * whether a gain grows, holds or fades with the schedule, which the final column alone cannot.
 */
export function gainOverTrainingTable(arms: readonly ArmRuns[]): string {
  const [base, ...others] = arms;
  if (!base) return '';
  const iters = evaluatedIters(arms.flatMap((a) => [...a.runs.values()]));
  const lines = [
    `| AP (mean over seeds) at iteration | ${iters.join(' | ')} |`,
    `| --- | ${iters.map(() => '---').join(' | ')} |`,
  ];
  for (const arm of [base, ...others]) {
    const cells = iters.map((it) => {
      const ap = apAt(arm.runs, it);
      if (ap.size === 0) return '';
      const mean = (100 * meanStd([...ap.values()]).mean).toFixed(1);
      if (arm === base) return mean;
      const gain = pairedGain(ap, apAt(base.runs, it));
      return gain.n === 0 ? mean : `${mean} (${signedPoints(gain.mean)})`;
    });
    lines.push(`| ${arm.label} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
