import test from 'ava';
import { gainOverTrainingTable, seedMeanApSeries } from '../src/experiments.js';
import type { TrainingResult } from '../src/experiments.js';

/** A run evaluated at the given iterations with the given AP fractions. */
function run(points: Record<number, number>): TrainingResult {
  const history = Object.entries(points).map(([iter, AP]) => ({ iter: Number(iter), metrics: { AP } }));
  return { name: 'r', iters: 0, history, final: history.at(-1)!.metrics, msPerIter: 1, wallSeconds: 1, workDir: '/tmp' } as TrainingResult;
}

test('AP over training: mean per evaluated iteration, paired gain over the first arm, blanks where nothing was evaluated', (t) => {
  const md = gainOverTrainingTable([
    { label: 'alone', runs: new Map([[0, run({ 1000: 0.27, 2000: 0.40 })], [1, run({ 1000: 0.25, 2000: 0.42 })]]) },
    // seed 1 stopped before 2000: the 2000 gain is seed 0's alone.
    { label: 'distilled', runs: new Map([[0, run({ 1000: 0.30, 2000: 0.45 })], [1, run({ 1000: 0.26 })]]) },
    { label: 'late', runs: new Map([[0, run({ 3000: 0.5 })]]) },
  ]);
  t.is(
    md,
    [
      '| AP (mean over seeds) at iteration | 1000 | 2000 | 3000 |',
      '| --- | --- | --- | --- |',
      '| alone | 26.0 | 41.0 |  |',
      '| distilled | 28.0 (+2.0) | 45.0 (+5.0) |  |',
      '| late |  |  | 50.0 |',
    ].join('\n'),
  );
});

test('AP over training of no arms is empty', (t) => {
  t.is(gainOverTrainingTable([]), '');
});

test('the chart line over seeds: mean where evaluated, min..max band, a seed missing at an iteration left out', (t) => {
  const series = seedMeanApSeries('distilled', '#123456', [run({ 1000: 0.30, 2000: 0.45 }), run({ 1000: 0.26 })]);
  t.like(series, { label: 'distilled', color: '#123456' });
  t.is(series.points.length, 2);
  t.is(series.points[0]![0], 1000);
  t.true(Math.abs(series.points[0]![1] - 28) < 1e-9);
  t.deepEqual(series.points[1], [2000, 45]);
  t.deepEqual(series.band?.[1], [2000, 45, 45]);
  const [it, lo, hi] = series.band![0]!;
  t.is(it, 1000);
  t.true(Math.abs(lo - 26) < 1e-9 && Math.abs(hi - 30) < 1e-9);
});
