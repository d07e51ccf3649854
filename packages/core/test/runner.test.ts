import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDetkitError } from '../src/errors.js';
import type { Hook, IterInfo } from '../src/runner/hook.js';
import type { RunnerOptions } from '../src/runner/options.js';
import { Runner } from '../src/runner/runner.js';
import type { RunnerEvent } from '../src/runner/events.js';
import { emptyDataset, meanScoreEvaluator, ToyConvNet, ToySource, toyServices } from './toy-model.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

function options(over: Partial<RunnerOptions> = {}): RunnerOptions {
  return {
    model: new ToyConvNet(3),
    train: new ToySource(4, 4, 7),
    hooks: [],
    optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 },
    maxIters: 8,
    workDir: mkdtempSync(join(tmpdir(), 'detkit-runner-')),
    services: toyServices(),
    handleSignals: false,
    ...over,
  };
}

test.serial('toy conv net trains with falling loss and no tensor leak', async (t) => {
  const opts = options({ maxIters: 100 });
  const runner = new Runner(opts);
  const losses: number[] = [];
  const tensorsAt = new Map<number, number>();
  runner.events$.subscribe((e) => {
    if (e.type !== 'afterIter') return;
    losses.push(e.totalLoss);
    if (e.iter === 10 || e.iter === 100) tensorsAt.set(e.iter, tf.memory().numTensors);
  });
  const result = await runner.train();
  t.deepEqual(result, { iter: 100, stopped: false, reason: undefined });
  const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
  const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
  t.true(last < first * 0.5, `loss should fall: first10 ${first}, last10 ${last}`);
  t.is(tensorsAt.get(100), tensorsAt.get(10));
  runner.dispose();
  opts.model.dispose();
});

test.serial('event order for a 2-epoch run, hooks interleaved after their events', async (t) => {
  const log: string[] = [];
  const hook: Hook = {
    name: 'rec',
    beforeRun: () => void log.push('hook:beforeRun'),
    beforeEpoch: (s) => void log.push(`hook:beforeEpoch${s.epoch}`),
    afterEpoch: (s) => void log.push(`hook:afterEpoch${s.epoch}`),
    afterRun: () => void log.push('hook:afterRun'),
  };
  const opts = options({ train: new ToySource(2, 2, 1), maxIters: 4, hooks: [hook] });
  const runner = new Runner(opts);
  runner.events$.subscribe((e: RunnerEvent) => {
    const suffix = e.type === 'beforeEpoch' || e.type === 'afterEpoch' ? String(e.epoch) : e.type === 'afterIter' || e.type === 'beforeIter' ? `@${e.iter}` : '';
    if (e.type !== 'afterForward') log.push(e.type + suffix);
  });
  await runner.train();
  t.deepEqual(log, [
    'beforeRun', 'hook:beforeRun',
    'beforeEpoch0', 'hook:beforeEpoch0',
    'beforeIter@0', 'afterIter@1', 'beforeIter@1', 'afterIter@2',
    'afterEpoch0', 'hook:afterEpoch0',
    'beforeEpoch1', 'hook:beforeEpoch1',
    'beforeIter@2', 'afterIter@3', 'beforeIter@3', 'afterIter@4',
    'afterEpoch1', 'hook:afterEpoch1',
    'afterRun', 'hook:afterRun',
  ]);
  runner.dispose();
  opts.model.dispose();
});

test.serial('hooks run by priority, ties in the given order', async (t) => {
  const calls: string[] = [];
  const mk = (name: string, priority?: number): Hook => ({ name, priority, beforeRun: () => void calls.push(name) });
  const opts = options({ maxIters: 1, hooks: [mk('late', 70), mk('a', 10), mk('default'), mk('b', 10)] });
  const runner = new Runner(opts);
  await runner.train();
  t.deepEqual(calls, ['a', 'b', 'default', 'late']);
  runner.dispose();
  opts.model.dispose();
});

test.serial('a hook loss term reaches the gradient (pulls a parameter to a target)', async (t) => {
  const pull: Hook = {
    name: 'pull',
    afterForward: (s) => {
      const bias = s.model.namedParameters().find(([n]) => n === 'bias')![1];
      return { toFive: tf.mul(tf.sum(tf.square(tf.sub(bias, 5))), 5) as tf.Scalar };
    },
  };
  const seen: IterInfo[] = [];
  const run = async (hooks: Hook[]) => {
    const opts = options({ maxIters: 30, hooks, optimizer: { type: 'sgd', lr: 0.05 } });
    const runner = new Runner(opts);
    runner.events$.subscribe((e) => e.type === 'afterIter' && seen.push(e));
    await runner.train();
    const bias = opts.model.namedParameters().find(([n]) => n === 'bias')![1].dataSync()[0]!;
    runner.dispose();
    opts.model.dispose();
    return bias;
  };
  const without = await run([]);
  seen.length = 0;
  const withPull = await run([pull]);
  t.true(Math.abs(without) < 1, `bias without the hook stays small: ${without}`);
  t.true(withPull > 3, `bias pulled towards 5: ${withPull}`);
  t.deepEqual(Object.keys(seen[0]!.losses), ['mse', 'pull.toFive']);
  t.true(Math.abs(seen[0]!.totalLoss - seen[0]!.losses.mse! - seen[0]!.losses['pull.toFive']!) < 1e-4);
});

test.serial('a loss name collision between model and hook is an error', async (t) => {
  const opts = options({ maxIters: 1 });
  const model = opts.model as ToyConvNet;
  const orig = model.forwardTrain.bind(model);
  model.forwardTrain = (b) => {
    const r = orig(b);
    return { losses: { ...r.losses, 'h.extra': tf.scalar(0) }, outputs: r.outputs };
  };
  const runner = new Runner({ ...opts, hooks: [{ name: 'h', afterForward: () => ({ extra: tf.scalar(1) }) }] });
  const err = await t.throwsAsync(runner.train());
  t.regex(err!.message, /'h\.extra' from hook 'h' collides with the same name from the model/);
  runner.dispose();
  opts.model.dispose();
});

test.serial('a NaN loss stops the run naming the term, with nothing applied', async (t) => {
  const opts = options({
    maxIters: 5,
    hooks: [{ name: 'bad', afterForward: (s) => (s.iter === 2 ? { boom: tf.scalar(NaN) } : undefined) }],
  });
  const runner = new Runner(opts);
  const before = new Map<string, number[]>();
  runner.events$.subscribe((e) => {
    if (e.type === 'afterIter' && e.iter === 2) for (const [n, v] of opts.model.namedParameters()) before.set(n, Array.from(v.dataSync()));
  });
  const err = await t.throwsAsync(runner.train());
  t.true(isDetkitError(err, 'LOSS_NOT_FINITE'));
  t.regex(err!.message, /^Training diverged at iteration 3: loss term 'bad\.boom'=NaN is not finite/);
  t.is((err as { details?: { iter?: number } }).details?.iter, 3);
  for (const [n, v] of opts.model.namedParameters()) t.deepEqual(Array.from(v.dataSync()), before.get(n), n);
  runner.dispose();
  opts.model.dispose();
});

test.serial('requestStop ends after the current iteration; setLr is per-iteration', async (t) => {
  const lrs: number[] = [];
  const opts = options({
    maxIters: 10,
    hooks: [
      { name: 'sched', beforeIter: (s) => s.setLr(s.baseLr * (s.iter + 1)) },
      { name: 'stopper', afterIter: (s, info) => void (lrs.push(info.lr), info.iter === 3 && s.requestStop('enough')) },
    ],
  });
  const runner = new Runner(opts);
  const result = await runner.train();
  t.deepEqual(result, { iter: 3, stopped: true, reason: 'enough' });
  t.deepEqual(lrs.map((x) => +x.toFixed(6)), [0.05, 0.1, 0.15]);
  runner.dispose();
  opts.model.dispose();
});

test.serial('evaluate runs predict in eval mode, swaps hook weights and restores training mode', async (t) => {
  const opts = options({ maxIters: 0 });
  const model = opts.model as ToyConvNet;
  const modes: boolean[] = [];
  const origPredict = model.predict.bind(model);
  model.predict = async (b) => (modes.push(model.training), origPredict(b));
  const zeros = new Map<string, tf.Tensor>([['head', tf.zeros([8, 1])], ['bias', tf.fill([1], 0.25)]]);
  const runner = new Runner({
    ...opts,
    val: { source: new ToySource(2, 3, 9), dataset: emptyDataset, evaluator: meanScoreEvaluator },
    hooks: [{ name: 'w', evalStateDict: () => zeros }],
  });
  const events: RunnerEvent[] = [];
  runner.events$.subscribe((e) => events.push(e));
  const headBefore = Array.from(model.head.dataSync());
  const metrics = await runner.evaluate();
  t.deepEqual(metrics, { meanScore: 0.25, count: 6 });
  t.deepEqual(modes, [false, false]);
  t.true(model.training);
  t.deepEqual(Array.from(model.head.dataSync()), headBefore);
  t.deepEqual(events.map((e) => e.type), ['afterEval']);
  zeros.forEach((z) => z.dispose());
  runner.dispose();
  opts.model.dispose();
});
