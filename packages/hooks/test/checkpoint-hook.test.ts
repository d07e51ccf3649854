import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runner, loadCheckpoint, type Evaluator } from '@detkit/core';
import { CheckpointHook, EvalHook, LoggerHook, periodicName } from '../src/hooks.js';
import { baseOptions, DenseSource, recordingLogger, useCpu } from './helpers.js';

test.before(useCpu);

/** The iteration stored in a checkpoint file (tensors freed). */
async function iterOf(path: string): Promise<number> {
  const ck = await loadCheckpoint(path);
  ck.dispose();
  return ck.meta.iter;
}

const noGt = { length: 0, classNames: ['x'], get: () => { throw new Error(); } };

/** Returns the scripted metric values in turn, so the best iteration is known in advance. */
function scripted(values: number[]): Evaluator {
  let k = 0;
  return { evaluate: () => ({ AP: values[k++]! }) };
}

async function train(dir: string, maxIters: number, metrics: number[], resumeFrom?: string) {
  const log = recordingLogger();
  const ck = new CheckpointHook({ interval: 2, keepLast: 2, bestMetric: 'AP', bestMode: 'max' }, log);
  const opts = baseOptions(dir, {
    maxIters,
    resumeFrom,
    hooks: [ck, new EvalHook({ interval: 2, atEnd: true, onStop: false }), new LoggerHook({ interval: 5, metricsFile: 'metrics.jsonl' }, log)],
    val: { source: new DenseSource(1, 5), dataset: noGt, evaluator: scripted(metrics) },
  });
  const runner = new Runner(opts);
  await runner.train();
  runner.dispose();
  opts.model.dispose();
  ck.dispose();
  return { ck, log };
}

test.serial('keeps the last K periodic files, the best by metric, and latest', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ckhook-'));
  // evaluations at iterations 2, 4, 6, 8, 10
  const { ck } = await train(dir, 10, [0.1, 0.5, 0.3, 0.7, 0.2]);
  t.deepEqual(readdirSync(dir).sort(), ['best.safetensors', 'latest.safetensors', 'metrics.jsonl', periodicName(10), periodicName(8)].sort());
  t.is(await iterOf(join(dir, 'best.safetensors')), 8);
  t.is(await iterOf(join(dir, 'latest.safetensors')), 10);
  t.is(Math.fround(ck.bestValue!), Math.fround(0.7));

  // metrics.jsonl: every iteration, every evaluation, whole lines
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  t.is(lines.filter((l) => l.type === 'iter').length, 10);
  t.deepEqual(lines.filter((l) => l.type === 'eval').map((l) => [l.iter, l.metrics.AP]), [[2, 0.1], [4, 0.5], [6, 0.3], [8, 0.7], [10, 0.2]]);
  t.like(lines[0], { type: 'iter', iter: 1, epoch: 0, lr: 0.1 });
  t.true(typeof lines[0].losses.mse === 'number' && typeof lines[0].gradNorm === 'number');
});

test.serial('resumed run keeps the best value and rotates files from the earlier run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ckhook-'));
  await train(dir, 6, [0.1, 0.9, 0.3]); // best 0.9 at iteration 4; files iter 4, 6
  const { ck } = await train(dir, 10, [0.5, 0.95], join(dir, periodicName(6))); // evals at 8 (0.5), 10 (0.95)
  t.is(Math.fround(ck.bestValue!), Math.fround(0.95));
  t.is(await iterOf(join(dir, 'best.safetensors')), 10);
  t.deepEqual(readdirSync(dir).filter((f) => f.startsWith('iter_')).sort(), [periodicName(8), periodicName(10)]);
  t.false(existsSync(join(dir, periodicName(4))));
});

test.serial('a resumed run does not replace best with a worse result', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ckhook-'));
  await train(dir, 4, [0.1, 0.9]);
  const { ck } = await train(dir, 8, [0.5, 0.6], join(dir, 'latest.safetensors'));
  t.is(Math.fround(ck.bestValue!), Math.fround(0.9));
  t.is(await iterOf(join(dir, 'best.safetensors')), 4);
});
