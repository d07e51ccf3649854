/**
 * The fused sigmoid focal loss on WebGPU (src/backend/webgpu/focal-loss.ts): the elementwise loss
 * and its gradients (logits, targets) against a float64 reference, for gamma 2, 1 and 1.5, with
 * and without alpha, hard and soft targets, large logits; one dispatch per direction; no leaks;
 * no fused kernel on cpu. Runs where an adapter exists (SwiftShader here and in CI), otherwise
 * skipped with the reason printed.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { FOCAL_LOSS_GRAD_LOGITS_KERNEL, FOCAL_LOSS_GRAD_TARGETS_KERNEL, FOCAL_LOSS_KERNEL, fusedSigmoidFocalLoss, hasFusedFocalLoss } from '../src/backend/focal-loss.js';
import { probeBackend, selectBackend } from '../src/backend/select-backend.js';
import { silentLogger } from '../src/util/logger.js';
import { randomValues } from './random-values.js';
import { errorsByKey, fmtErrors, programsDuring } from './webgpu-compare.js';

const probe = await probeBackend('webgpu');
const TOL = 1e-5;

interface Case {
  shape: number[];
  logits: Float32Array;
  targets: Float32Array;
  dOut: Float32Array;
  alpha: number;
  gamma: number;
}
type Key = 'loss' | 'logits' | 'targets';
const KEYS: Key[] = ['loss', 'logits', 'targets'];

/** Logits `scale * u`, targets 0/1 (or uniform in [0, 1] when soft), dOut in [-1, 1). */
function makeCase(shape: number[], seed: number, alpha: number, gamma: number, scale = 6, soft = false): Case {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    shape,
    logits: randomValues(n, seed).map((u) => scale * u),
    targets: randomValues(n, seed + 1).map((u) => (soft ? (u + 1) / 2 : u > 0.6 ? 1 : 0)),
    dOut: randomValues(n, seed + 2),
    alpha,
    gamma,
  };
}

/** The loss and the gradients of sum(loss * dOut) in float64, straight from the definition. */
function reference(c: Case): Record<Key, Float64Array> {
  const n = c.logits.length;
  const out = { loss: new Float64Array(n), logits: new Float64Array(n), targets: new Float64Array(n) };
  const f = (x: number, t: number) => {
    const p = 1 / (1 + Math.exp(-x));
    const ce = Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
    const pT = p * t + (1 - p) * (1 - t);
    const alphaT = c.alpha >= 0 ? c.alpha * t + (1 - c.alpha) * (1 - t) : 1;
    return alphaT * (1 - pT) ** c.gamma * ce;
  };
  for (let i = 0; i < n; i++) {
    const x = c.logits[i]!;
    const t = c.targets[i]!;
    out.loss[i] = f(x, t);
    // Central differences in float64 on the float64 definition: independent of the analytic forms.
    const h = 1e-6;
    out.logits[i] = (c.dOut[i]! * (f(x + h, t) - f(x - h, t))) / (2 * h);
    out.targets[i] = (c.dOut[i]! * (f(x, t + h) - f(x, t - h))) / (2 * h);
  }
  return out;
}

async function run(c: Case): Promise<Record<Key, Float32Array>> {
  const logits = tf.variable(tf.tensor(c.logits, c.shape));
  const targets = tf.variable(tf.tensor(c.targets, c.shape));
  const dOut = tf.tensor(c.dOut, c.shape);
  let loss: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul((loss = tf.keep(fusedSigmoidFocalLoss(logits, targets, c.alpha, c.gamma)!)), dOut)), [logits, targets]);
  const outs = [loss!, grads[logits.name]!, grads[targets.name]!];
  const [l, dl, dt] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
  tf.dispose([logits, targets, dOut, value, ...outs]);
  return { loss: l!, logits: dl!, targets: dt! };
}

test('cpu: no fused focal loss (the detectors keep their composed ops there)', async (t) => {
  const prev = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    t.false(hasFusedFocalLoss('cpu'));
    const x = tf.zeros([2, 3]);
    t.is(fusedSigmoidFocalLoss(x, x, 0.25, 2), null);
    x.dispose();
  } finally {
    if (prev) await tf.setBackend(prev);
  }
});

if (!probe.ok) {
  console.log(`webgpu focal loss tests skipped: ${probe.why}`);
  test.skip(`webgpu focal loss (skipped: ${probe.why.slice(0, 160)})`, () => {});
} else {
  test.before(async () => {
    await selectBackend({ backend: 'webgpu', logger: silentLogger });
  });

  const cases: Array<[string, Case]> = [
    ['gamma 2, alpha 0.25, one-hot targets [2,7,10]', makeCase([2, 7, 10], 11, 0.25, 2)],
    ['gamma 1, no alpha', makeCase([3, 5, 4], 21, -1, 1)],
    ['gamma 1.5, alpha 0.4, soft targets', makeCase([4, 9], 31, 0.4, 1.5, 6, true)],
    ['logits up to +-30 (saturated sigmoid)', makeCase([6, 10], 41, 0.25, 2, 30)],
  ];
  for (const [name, c] of cases) {
    test.serial(`${name}: loss and gradients (logits, targets) = float64 reference`, async (t) => {
      t.true(hasFusedFocalLoss('webgpu'));
      const got = await run(c);
      const e = errorsByKey(got, reference(c), KEYS);
      t.log(`webgpu vs float64: ${fmtErrors(e)}`);
      // The finite differences carry ~1e-7 of their own error.
      for (const k of KEYS) t.true(e[k] < TOL, `${k}: ${e[k]}`);
    });
  }

  test.serial('one dispatch forward and one per gradient; no leaks', async (t) => {
    const c = makeCase([2, 5, 10], 51, 0.25, 2);
    const logits = tf.variable(tf.tensor(c.logits, c.shape));
    const targets = tf.tensor(c.targets, c.shape);
    const step = () => tf.dispose(Object.values(tf.tidy(() => tf.variableGrads(() => tf.sum(fusedSigmoidFocalLoss(logits, targets, 0.25, 2)!), [logits]).grads)));
    const lossOnly = programsDuring(() => tf.dispose(Object.values(tf.tidy(() => tf.variableGrads(() => tf.sum(logits), [logits]).grads)))).length;
    const keys = programsDuring(step);
    t.deepEqual(keys.filter((k) => k.startsWith('detkit_focal_')), ['detkit_focal_loss', 'detkit_focal_dlogits'], keys.join(', '));
    t.is(keys.length - lossOnly, 2, keys.join(', '));
    const info = await tf.profile(step);
    const names = info.kernels.map((k) => k.name);
    t.true(names.includes(FOCAL_LOSS_KERNEL) && names.includes(FOCAL_LOSS_GRAD_LOGITS_KERNEL), names.join(', '));
    t.false(names.includes(FOCAL_LOSS_GRAD_TARGETS_KERNEL), 'no targets gradient when the targets need none');
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    t.is(tf.memory().numTensors, before);
    tf.dispose([logits, targets]);
  });
}
