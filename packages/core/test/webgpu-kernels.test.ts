// detkit's WebGPU kernels against host float64 computations: runs where an adapter exists
// (SwiftShader here and in CI), otherwise skipped with the reason printed.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { fusedAdamStep, type FusedAdamAttrs } from '../src/backend/fused-adam.js';
import { probeBackend, selectBackend } from '../src/backend/select-backend.js';
import { sumOfSquares, totalSumOfSquares } from '../src/backend/sum-squares.js';
import { silentLogger } from '../src/util/logger.js';
import { programsDuring } from './webgpu-compare.js';

const probe = await probeBackend('webgpu');

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2147483648 - 1);
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, rel = 1e-5): boolean {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) if (Math.abs(got[i]! - want[i]!) > rel * Math.max(scale, 1e-12)) return false;
  return got.length === want.length;
}

/** PyTorch's Adam/AdamW step in float64 (the reference the kernels implement). */
function adamReference(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, a: FusedAdamAttrs) {
  const out = { p: new Float64Array(p.length), m: new Float64Array(p.length), v: new Float64Array(p.length) };
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! * (a.gradScale ?? 1) + (a.decoupled ? 0 : a.weightDecay * p[i]!);
    out.m[i] = a.beta1 * m[i]! + (1 - a.beta1) * gi;
    out.v[i] = a.beta2 * v[i]! + (1 - a.beta2) * gi * gi;
    const w = a.decoupled ? p[i]! * (1 - a.lr * a.weightDecay) : p[i]!;
    out.p[i] = w - (a.lr / (1 - a.beta1 ** a.step)) * (out.m[i]! / (Math.sqrt(out.v[i]!) / Math.sqrt(1 - a.beta2 ** a.step) + a.eps));
  }
  return out;
}

if (!probe.ok) {
  console.log(`webgpu tests skipped: ${probe.why}`);
  test.skip(`webgpu kernels (skipped: ${probe.why.slice(0, 160)})`, () => {});
} else {
  test.before(async () => {
    await selectBackend({ backend: 'webgpu', logger: silentLogger });
  });

  for (const decoupled of [true, false]) {
    test.serial(`fused ${decoupled ? 'AdamW' : 'Adam'} step (with a clipping scale) matches PyTorch's formula in float64`, async (t) => {
      const n = 1000; // several workgroups, not a multiple of 64
      const [p, g, m] = [values(n, 1), values(n, 2), values(n, 3)];
      const v = values(n, 4).map(Math.abs);
      const attrs: FusedAdamAttrs = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, decoupled, step: 3, gradScale: 0.37 };
      const ins = [p, g, m, v].map((a) => tf.tensor1d(a));
      const out = fusedAdamStep(ins[0]!, ins[1]!, ins[2]!, ins[3]!, attrs);
      t.truthy(out, 'the webgpu kernel is registered');
      const [gp, gm, gv] = await Promise.all(out!.map((o) => o.data()));
      const want = adamReference(p, g, m, v, attrs);
      t.true(close(gm!, want.m), 'exp_avg');
      t.true(close(gv!, want.v), 'exp_avg_sq');
      t.true(close(gp!, want.p), 'parameter');
      tf.dispose([...ins, ...out!]);
    });
  }

  test.serial('sum of squares: one kernel, matches float64 for sizes around the workgroup', async (t) => {
    for (const n of [1, 255, 256, 257, 70_000]) {
      const x = values(n, n);
      const s = sumOfSquares(tf.tensor1d(x));
      t.deepEqual(s.shape, []);
      const want = x.reduce((a, b) => a + b * b, 0);
      t.true(Math.abs((await s.data())[0]! - want) <= 1e-5 * want, `n=${n}: ${(await s.data())[0]} vs ${want}`);
      s.dispose();
    }
  });

  test.serial('sum of squares over 20 tensors: 7 per dispatch, matches float64', async (t) => {
    const sizes = [1, 255, 256, 257, 70_000, 3, 64 * 64, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 1000];
    const arrays = sizes.map((n, i) => values(n, 100 + i));
    const xs = arrays.map((a) => tf.tensor1d(a));
    let total!: tf.Scalar;
    const shaders = programsDuring(() => (total = totalSumOfSquares(xs)));
    t.is(shaders.filter((k) => k.startsWith('detkit_sum_squares_')).length, 3, `programs: ${shaders.join(', ')}`);
    const want = arrays.reduce((acc, a) => acc + a.reduce((s, v) => s + v * v, 0), 0);
    const got = (await total.data())[0]!;
    t.true(Math.abs(got - want) <= 1e-5 * want, `${got} vs ${want}`);
    tf.dispose([...xs, total]);
  });

  test.serial('AddN over more inputs than a shader may bind (40) sums them all', async (t) => {
    const xs = Array.from({ length: 40 }, (_, i) => tf.tensor1d(values(100, i + 10)));
    const got = await tf.addN(xs).data();
    const want = Array.from({ length: 100 }, (_, j) => xs.reduce((s, _x, i) => s + values(100, i + 10)[j]!, 0));
    t.true(close(got, want));
    tf.dispose(xs);
  });
}
