import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import type { Optimizer } from '../src/optim/optimizer.js';
import { registerTfjsGradients } from '../src/backend/gradients.js';
import { trainStep } from '../src/runner/train-step.js';

test.before(async () => {
  await registerTfjsGradients();
  await tf.setBackend('cpu');
});

/** Records the gradients it is given (as arrays) instead of updating. */
function recorder() {
  const seen: Array<{ grads: Record<string, number[]>; lr: number }> = [];
  const opt: Optimizer = {
    step(grads, lr, gradScale = 1) {
      // What the update sees: the gradient times the clipping factor.
      seen.push({ grads: Object.fromEntries([...grads].map(([n, g]) => [n, Array.from(g.dataSync(), (x) => x * gradScale)])), lr });
    },
    stateDict: () => new Map(),
    loadStateDict() {},
    dispose() {},
  };
  return { opt, seen };
}

const close = (a: number[], b: number[], tol = 1e-5) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)));

test.serial('gradients by parameter name, loss readout and grad norm match a hand computation', async (t) => {
  // L = sum(w^2) + 3*u*w0 with w=[3,4], u=[2]: dL/dw = [2*3 + 3*2, 2*4] = [12, 8], dL/du = 3*3 = 9.
  const w = tf.variable(tf.tensor1d([3, 4]));
  const u = tf.variable(tf.tensor1d([2]));
  const frozen = tf.variable(tf.tensor1d([1]));
  const { opt, seen } = recorder();
  const before = tf.memory().numTensors;
  const out = await trainStep(
    [['layer.w', w], ['layer.u', u], ['unused', frozen]],
    () => ({
      sq: tf.sum(tf.square(w)) as tf.Scalar,
      cross: tf.reshape(tf.mul(3, tf.mul(tf.slice(w, [0], [1]), u)), []) as tf.Scalar,
    }),
    opt,
    0.5,
    undefined,
  );
  t.is(tf.memory().numTensors, before, 'no leak');
  t.deepEqual(out.losses, { sq: 25, cross: 18 });
  t.is(out.totalLoss, 43);
  t.true(Math.abs(out.gradNorm - Math.sqrt(144 + 64 + 81)) < 1e-4);
  t.deepEqual(Object.keys(seen[0]!.grads).sort(), ['layer.u', 'layer.w'], 'unused variables get no gradient');
  t.true(close(seen[0]!.grads['layer.w']!, [12, 8]));
  t.true(close(seen[0]!.grads['layer.u']!, [9]));
  t.is(seen[0]!.lr, 0.5);
  tf.dispose([w, u, frozen]);
});

test.serial('clipping scales by maxNorm / (norm + 1e-6) only when the norm exceeds maxNorm', async (t) => {
  const w = tf.variable(tf.tensor1d([3, 4]));
  const { opt, seen } = recorder();
  const loss = () => ({ l: tf.sum(tf.square(w)) as tf.Scalar }); // grad [6, 8], norm 10
  await trainStep([['w', w]], loss, opt, 1, 5);
  await trainStep([['w', w]], loss, opt, 1, 20);
  const c = 5 / (10 + 1e-6);
  t.true(close(seen[0]!.grads.w!, [6 * c, 8 * c]));
  t.true(close(seen[1]!.grads.w!, [6, 8]));
  w.dispose();
});

test.serial('a non-finite term throws LOSS_NOT_FINITE naming it; the optimizer is not called', async (t) => {
  const w = tf.variable(tf.tensor1d([1]));
  const { opt, seen } = recorder();
  const before = tf.memory().numTensors;
  const err = await t.throwsAsync(() =>
    trainStep([['w', w]], () => ({ ok: tf.sum(w) as tf.Scalar, bad: tf.log(tf.scalar(-1)) as tf.Scalar }), opt, 1, undefined),
  );
  t.is((err as { code?: string }).code, 'LOSS_NOT_FINITE');
  t.regex(err!.message, /'bad'=NaN/);
  t.is(seen.length, 0);
  t.is(tf.memory().numTensors, before);
  w.dispose();
});
