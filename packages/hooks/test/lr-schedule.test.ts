import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runner, type BuildContext, type Hook } from '@detkit/core';
import { HOOK_FACTORIES, lrAt, scheduledLr, warmupMultiplier, type LrScheduleConfig } from '../src/hooks.js';
import { baseOptions, services, useCpu } from './helpers.js';

test.before(useCpu);

const cfg = (c: Partial<LrScheduleConfig>): LrScheduleConfig => ({ policy: 'constant', warmupIters: 0, warmupFactor: 0.001, milestones: [], gamma: 0.1, minLr: 0, ...c });
const near = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));

test('step schedule: gamma per milestone passed (MultiStepLR)', (t) => {
  const c = cfg({ policy: 'step', milestones: [3, 6], gamma: 0.1 });
  const got = [0, 2, 3, 5, 6, 9].map((i) => scheduledLr(i, 0.1, 10, c));
  [0.1, 0.1, 0.01, 0.01, 0.001, 0.001].forEach((want, k) => t.true(near(got[k]!, want), `i-th ${k}: ${got[k]} vs ${want}`));
});

test('cosine schedule against hand values, decaying over [warmupIters, maxIters]', (t) => {
  const c = cfg({ policy: 'cosine', minLr: 0 });
  t.true(near(scheduledLr(0, 1, 10, c), 1));
  t.true(near(scheduledLr(2, 1, 10, c), 0.5 * (1 + Math.cos(0.2 * Math.PI)))); // 0.9045084972
  t.true(near(scheduledLr(5, 1, 10, c), 0.5));
  t.true(near(scheduledLr(10, 1, 10, c), 0));
  t.true(near(scheduledLr(5, 1, 10, cfg({ policy: 'cosine', minLr: 0.1 })), 0.55));
  // with 4 warm-up iterations the cosine spans 6: at i=7 it is half way
  t.true(near(scheduledLr(7, 1, 10, cfg({ policy: 'cosine', warmupIters: 4 })), 0.5));
});

test('linear warm-up from warmupFactor to 1', (t) => {
  t.deepEqual([0, 1, 2, 4, 9].map((i) => +warmupMultiplier(i, 4, 0.2).toFixed(12)), [0.2, 0.4, 0.6, 1, 1]);
  t.true(near(lrAt(1, 0.1, 10, cfg({ policy: 'step', milestones: [1], warmupIters: 4, warmupFactor: 0.2 })), 0.01 * 0.4));
});

const ctx = { services: services(), build: async () => { throw new Error('unused'); } } as unknown as BuildContext;

async function lrsOf(hooks: Hook[], maxIters = 8): Promise<number[]> {
  const runner = new Runner(baseOptions(mkdtempSync(join(tmpdir(), 'lr-')), { hooks, maxIters, optimizer: { type: 'sgd', lr: 0.5 } }));
  const lrs: number[] = [];
  runner.events$.subscribe((e) => e.type === 'afterIter' && lrs.push(e.lr));
  await runner.train();
  runner.dispose();
  return lrs;
}

test.serial('through the runner: step-lr + warmup hooks compose like one lr-schedule with warm-up', async (t) => {
  const composed = await lrsOf([
    HOOK_FACTORIES.warmup!.build({ warmupIters: 3, warmupFactor: 0.25 }, ctx),
    HOOK_FACTORIES['step-lr']!.build({ milestones: [2, 5], gamma: 0.5 }, ctx),
  ]);
  const single = await lrsOf([HOOK_FACTORIES['lr-schedule']!.build({ policy: 'step', milestones: [2, 5], gamma: 0.5, warmupIters: 3, warmupFactor: 0.25 }, ctx)]);
  // hand: base 0.5; step factor [1,1,.5,.5,.5,.25,.25,.25]; warm-up [.25,.5,.75,1,...]
  const hand = [0.5 * 0.25, 0.5 * 0.5, 0.25 * 0.75, 0.25, 0.25, 0.125, 0.125, 0.125];
  t.deepEqual(composed.map((x) => +x.toFixed(12)), hand);
  t.deepEqual(single.map((x) => +x.toFixed(12)), hand);
  const alone = await lrsOf([HOOK_FACTORIES.warmup!.build({ warmupIters: 2, warmupFactor: 0.5 }, ctx)], 4);
  t.deepEqual(alone, [0.25, 0.375, 0.5, 0.5], 'warm-up alone does not compound across iterations');
});

test('bad params name the hook and key', (t) => {
  const err = t.throws(() => HOOK_FACTORIES['step-lr']!.build({ milestones: [5, 3] }, ctx));
  t.regex(err!.message, /hook 'step-lr': milestones=\[5,3\]/);
  t.regex(t.throws(() => HOOK_FACTORIES['cosine-lr']!.build({ minlr: 0.1 }, ctx))!.message, /minlr=0.1 is not a parameter/);
});
