import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runner, type Batch, type IterInfo, type RunState } from '@detkit/core';
import { EmaHook } from '../src/hooks.js';
import { baseOptions, DenseNet, DenseSource, useCpu } from './helpers.js';

test.before(useCpu);

function fakeState(model: DenseNet): RunState {
  return { model } as unknown as RunState;
}
const info = (iter: number) => ({ iter }) as IterInfo;

test.serial('EMA arithmetic matches a float64 recurrence, with ramp and interval', (t) => {
  const model = new DenseNet();
  const hook = new EmaHook({ decay: 0.9, interval: 2, rampIters: 3 });
  const state = fakeState(model);
  hook.beforeRun(state);
  let ref = Array.from(model.w.dataSync(), Number);
  let updates = 0;
  const before = tf.memory().numTensors;
  for (let iter = 1; iter <= 7; iter++) {
    const next = ref.map((_, i) => Math.sin(iter * 3 + i)); // new "trained" weights
    tf.tidy(() => model.w.assign(tf.tensor2d(next, [4, 1])));
    hook.afterIter(state, info(iter));
    if (iter % 2 === 0) {
      updates += 1;
      const d = 0.9 * (1 - Math.exp(-updates / 3));
      ref = ref.map((e, i) => d * e + (1 - d) * next[i]!);
    }
  }
  t.is(hook.updateCount, 3);
  const got = Array.from(hook.weights!.get('w')!.dataSync());
  ref.forEach((r, i) => t.true(Math.abs(got[i]! - r) < 1e-6, `w[${i}] ${got[i]} vs ${r}`));
  t.is(tf.memory().numTensors, before, 'updates allocate nothing persistent');

  // state round trip into a fresh hook
  const copy = new EmaHook({ decay: 0.9, interval: 2, rampIters: 3 });
  copy.loadStateTensors(hook.stateTensors());
  t.is(copy.updateCount, 3);
  t.deepEqual(Array.from(copy.weights!.get('w')!.dataSync()), got);
  hook.dispose();
  copy.dispose();
  model.dispose();
});

test.serial('runner evaluates with the EMA weights and keeps training the live ones', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ema-'));
  const scores: number[] = [];
  const evaluator = { evaluate: (d: { score: number }[]) => (scores.push(d[0]!.score), { first: d[0]!.score }) };
  const ema = new EmaHook({ decay: 0.5, interval: 1, rampIters: 0 });
  const opts = baseOptions(dir, { hooks: [ema], maxIters: 4, val: { source: new DenseSource(1, 9), dataset: { length: 0, classNames: ['x'], get: () => { throw new Error(); } }, evaluator } });
  const runner = new Runner(opts);
  await runner.train();
  const model = opts.model as DenseNet;
  const live = Array.from(model.w.dataSync());
  await runner.evaluate();
  // independent prediction of the first val image with the EMA weights
  const batch: Batch = (await new DenseSource(1, 9).batches(0)[Symbol.asyncIterator]().next()).value;
  const x = Array.from(batch.images.dataSync()).slice(0, 4);
  const w = Array.from(ema.weights!.get('w')!.dataSync());
  const b = ema.weights!.get('b')!.dataSync()[0]!;
  const expected = x.reduce((s, xi, i) => s + xi * w[i]!, b);
  t.true(Math.abs(scores[0]! - expected) < 1e-5, `${scores[0]} vs ${expected}`);
  t.notDeepEqual(w, live);
  t.deepEqual(Array.from(model.w.dataSync()), live, 'live weights restored after evaluation');
  tf.dispose([batch.images, batch.masks]);
  ema.dispose();
  runner.dispose();
  model.dispose();
});
