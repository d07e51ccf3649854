import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { clipGradNorm, createOptimizer, type OptimizerConfig } from '../src/optim/index.js';
import { isDetkitError } from '../src/errors.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

/** Deterministic gradients per (step, param), independent of tfjs. */
function gradValues(step: number, p: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(1.3 * step + 0.7 * i + 2.1 * p) * (1 + p));
}

const INIT = [
  ['backbone.w', [0.5, -1.2, 2.0, 0.1]],
  ['head.w', [1.0, -0.3, 0.25]],
  ['head.b', [0.05, -0.5]],
] as const;

/** float64 re-implementation of torch.optim.{AdamW, Adam, SGD} with per-group lr and wd. */
function reference(cfg: OptimizerConfig, steps: number, lrs: number[], groupOf: (name: string) => { lrMult: number; wd: number }): number[][] {
  const ps: number[][] = INIT.map(([, v]) => [...v]);
  const m = ps.map((p) => p.map(() => 0));
  const v = ps.map((p) => p.map(() => 0));
  const [b1, b2] = cfg.betas ?? [0.9, 0.999];
  const eps = cfg.eps ?? 1e-8;
  for (let t = 1; t <= steps; t++) {
    ps.forEach((p, pi) => {
      const { lrMult, wd } = groupOf(INIT[pi]![0]);
      const lr = lrs[t - 1]! * lrMult;
      const g = gradValues(t, pi, p.length);
      for (let i = 0; i < p.length; i++) {
        let gi = g[i]!;
        if (cfg.type === 'adamw') p[i] = p[i]! * (1 - lr * wd);
        else gi += wd * p[i]!;
        if (cfg.type === 'sgd') {
          m[pi]![i] = t === 1 || !cfg.momentum ? gi : cfg.momentum * m[pi]![i]! + gi;
          p[i] = p[i]! - lr * m[pi]![i]!;
          continue;
        }
        m[pi]![i] = b1 * m[pi]![i]! + (1 - b1) * gi;
        v[pi]![i] = b2 * v[pi]![i]! + (1 - b2) * gi * gi;
        const denom = Math.sqrt(v[pi]![i]!) / Math.sqrt(1 - b2 ** t) + eps;
        p[i] = p[i]! - (lr / (1 - b1 ** t)) * (m[pi]![i]! / denom);
      }
    });
  }
  return ps;
}

function makeParams(): Array<[string, tf.Variable]> {
  return INIT.map(([n, v]) => [n, tf.variable(tf.tensor1d([...v]), true, `p_${n}_${Math.random()}`)]);
}

function runSteps(opt: ReturnType<typeof createOptimizer>, params: Array<[string, tf.Variable]>, from: number, to: number, lrs: number[]): void {
  for (let t = from; t <= to; t++) {
    const grads = new Map(params.map(([n, v], pi) => [n, tf.tensor1d(gradValues(t, pi, v.size))]));
    opt.step(grads, lrs[t - 1]!);
    tf.dispose([...grads.values()]);
  }
}

function maxDiff(params: Array<[string, tf.Variable]>, ref: number[][]): number {
  let d = 0;
  params.forEach(([, v], i) => v.dataSync().forEach((x, j) => (d = Math.max(d, Math.abs(x - ref[i]![j]!)))));
  return d;
}

const LRS = [1e-2, 2e-2, 2e-2, 1e-2, 5e-3, 5e-3];
const groups = [{ match: 'backbone.', lrMult: 0.1 }, { match: /\.b$/, weightDecay: 0 }];
const groupOf = (wd: number) => (name: string) => ({
  lrMult: name.startsWith('backbone.') ? 0.1 : 1,
  wd: name.endsWith('.b') ? 0 : wd,
});

for (const cfg of [
  { type: 'adamw', lr: 1e-2, weightDecay: 0.1, paramGroups: groups },
  { type: 'adam', lr: 1e-2, weightDecay: 0.05, betas: [0.8, 0.99], paramGroups: groups },
  { type: 'sgd', lr: 1e-2, momentum: 0.9, weightDecay: 0.01, paramGroups: groups },
  { type: 'sgd', lr: 1e-2 },
] as OptimizerConfig[]) {
  test(`${cfg.type} (${JSON.stringify({ ...cfg, paramGroups: undefined })}) matches a float64 re-implementation over 6 steps`, (t) => {
    const params = makeParams();
    const opt = createOptimizer(cfg, params);
    runSteps(opt, params, 1, 6, LRS);
    const ref = reference(cfg, 6, LRS, cfg.paramGroups ? groupOf(cfg.weightDecay ?? 0) : () => ({ lrMult: 1, wd: cfg.weightDecay ?? 0 }));
    const d = maxDiff(params, ref);
    t.true(d < 2e-6, `max diff ${d}`);
    // Parameters must actually have moved (guards against a test that cannot fail).
    t.true(Math.abs(params[1]![1].dataSync()[0]! - INIT[1][1][0]) > 1e-3);
    opt.dispose();
    tf.dispose(params.map(([, v]) => v));
  });
}

test('AdamW default weight decay is PyTorch 1e-2', (t) => {
  const params = makeParams();
  const opt = createOptimizer({ type: 'adamw', lr: 1e-2 }, params);
  runSteps(opt, params, 1, 3, LRS);
  t.true(maxDiff(params, reference({ type: 'adamw', lr: 1e-2 }, 3, LRS, () => ({ lrMult: 1, wd: 1e-2 }))) < 2e-6);
  opt.dispose();
  tf.dispose(params.map(([, v]) => v));
});

for (const cfg of [{ type: 'adamw', lr: 1e-2, weightDecay: 0.1 }, { type: 'sgd', lr: 1e-2, momentum: 0.9 }] as OptimizerConfig[]) {
  test(`${cfg.type}: state dict round trip continues identically; names keyed by parameter`, (t) => {
    const a = makeParams();
    const optA = createOptimizer(cfg, a);
    runSteps(optA, a, 1, 3, LRS);
    const sd = optA.stateDict();
    const keys = [...sd.keys()].sort();
    t.deepEqual(keys, cfg.type === 'sgd'
      ? ['momentum_buffer/backbone.w', 'momentum_buffer/head.b', 'momentum_buffer/head.w', 'step']
      : ['exp_avg/backbone.w', 'exp_avg/head.b', 'exp_avg/head.w', 'exp_avg_sq/backbone.w', 'exp_avg_sq/head.b', 'exp_avg_sq/head.w', 'step']);
    t.is(sd.get('step')!.dataSync()[0], 3);
    // A fresh optimizer over copies of the parameters, given the state, in a different order.
    const b = a.map(([n, v]) => [n, tf.variable(v.clone(), true, `copy_${n}_${Math.random()}`)] as [string, tf.Variable]).reverse();
    const optB = createOptimizer(cfg, b);
    const copied = new Map([...sd].map(([k, v]) => [k, v.clone()]));
    optB.loadStateDict(copied);
    tf.dispose([...copied.values()]);
    runSteps(optA, a, 4, 6, LRS);
    b.reverse();
    runSteps(optB, b, 4, 6, LRS);
    a.forEach(([, v], i) => t.deepEqual([...v.dataSync()], [...b[i]![1].dataSync()]));
    optA.dispose();
    optB.dispose();
    tf.dispose([...a, ...b].map(([, v]) => v));
  });
}

test('loadStateDict rejects malformed state without changing anything; ignores unknown params', (t) => {
  const params = makeParams();
  const opt = createOptimizer({ type: 'adam', lr: 1e-2 }, params);
  runSteps(opt, params, 1, 1, LRS);
  const before = [...opt.stateDict().get('exp_avg/head.w')!.dataSync()];
  const bad = [
    new Map<string, tf.Tensor>([['exp_avg/head.w', tf.zeros([3])]]),
    new Map<string, tf.Tensor>([['step', tf.scalar(2, 'int32')], ['exp_avg/head.w', tf.zeros([4])]]),
    new Map<string, tf.Tensor>([['step', tf.scalar(2, 'int32')], ['momentum_buffer/head.w', tf.zeros([3])]]),
  ];
  for (const sd of bad) {
    const err = t.throws(() => opt.loadStateDict(sd));
    t.true(isDetkitError(err, 'CHECKPOINT_MISMATCH'), String(err));
  }
  t.deepEqual([...opt.stateDict().get('exp_avg/head.w')!.dataSync()], before);
  opt.loadStateDict(new Map<string, tf.Tensor>([['step', tf.scalar(5, 'int32')], ['exp_avg/gone.w', tf.ones([7])]]));
  t.deepEqual([...opt.stateDict().keys()], ['step']);
  tf.dispose(bad.flatMap((m) => [...m.values()]));
  opt.dispose();
  tf.dispose(params.map(([, v]) => v));
});

test('step validates gradients before touching anything; no tensor leaks across steps', (t) => {
  const params = makeParams();
  const opt = createOptimizer({ type: 'adamw', lr: 1e-2, weightDecay: 0.1 }, params);
  const unknown = new Map([['nope', tf.zeros([1])]]);
  t.throws(() => opt.step(unknown, 0.1), { message: /unknown parameter 'nope'/ });
  const wrong = new Map([['head.w', tf.zeros([3])], ['head.b', tf.zeros([5])]]);
  const hw = [...params[1]![1].dataSync()];
  t.throws(() => opt.step(wrong, 0.1), { message: /'head.b' has shape \[5\]/ });
  t.deepEqual([...params[1]![1].dataSync()], hw);
  tf.dispose([...unknown.values(), ...wrong.values()]);
  runSteps(opt, params, 1, 1, LRS); // creates the slots
  const n = tf.memory().numTensors;
  runSteps(opt, params, 2, 5, LRS);
  t.is(tf.memory().numTensors, n);
  opt.dispose();
  t.is(tf.memory().numTensors, n - 7);
  tf.dispose(params.map(([, v]) => v));
});

test('createOptimizer validates its config with the key at fault', (t) => {
  const params = makeParams();
  for (const [cfg, re] of [
    [{ type: 'adamw', lr: -1 }, /optimizer\.lr/],
    [{ type: 'rmsprop', lr: 1 }, /optimizer\.type/],
    [{ type: 'sgd', lr: 1, momentum: 1.5 }, /optimizer\.momentum/],
    [{ type: 'adam', lr: 1, betas: [0.9, 1] }, /optimizer\.betas/],
    [{ type: 'adam', lr: 1, paramGroups: [{ match: 'x', lrMult: -2 }] }, /paramGroups\.0\.lrMult/],
  ] as Array<[OptimizerConfig, RegExp]>) {
    const err = t.throws(() => createOptimizer(cfg, params));
    t.true(isDetkitError(err, 'CONFIG_INVALID'));
    t.regex(err!.message, re);
  }
  tf.dispose(params.map(([, v]) => v));
});

test('clipGradNorm: global L2 norm and scaling match a hand computation; no leaks', (t) => {
  // norm = sqrt(3^2 + 4^2 + 12^2) = 13
  const grads = new Map<string, tf.Tensor>([['a', tf.tensor1d([3, 4])], ['b', tf.tensor2d([[12]])]]);
  const n = tf.memory().numTensors;
  const clipped = clipGradNorm(grads, 6.5);
  t.true(Math.abs(clipped.norm - 13) < 1e-5);
  const c = 6.5 / (13 + 1e-6);
  t.true(Math.abs(clipped.grads.get('a')!.dataSync()[0]! - 3 * c) < 1e-5);
  t.true(Math.abs(clipped.grads.get('b')!.dataSync()[0]! - 12 * c) < 1e-5);
  t.deepEqual(clipped.grads.get('b')!.shape, [1, 1]);
  const loose = clipGradNorm(grads, 100);
  t.deepEqual([...loose.grads.get('a')!.dataSync()], [3, 4], 'below the threshold nothing changes');
  t.is(tf.memory().numTensors, n + 4);
  tf.dispose([...clipped.grads.values(), ...loose.grads.values()]);
  t.is(tf.memory().numTensors, n);
  t.deepEqual([...grads.get('a')!.dataSync()], [3, 4], 'inputs untouched');
  t.is(clipGradNorm(new Map(), 1).norm, 0);
  tf.dispose([...grads.values()]);
});

test('a non-finite optimizer setting is shown as written in JS (Infinity), not as JSON null', (t) => {
  const e = t.throws(() => createOptimizer({ type: 'adamw', lr: Infinity } as OptimizerConfig, []));
  t.true(isDetkitError(e, 'CONFIG_INVALID'));
  t.regex(e!.message, /optimizer\.lr must be a finite number >= 0, got Infinity/);
});
