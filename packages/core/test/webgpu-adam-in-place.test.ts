// Adam / AdamW in place on webgpu (src/backend/webgpu/adam-in-place.ts): one dispatch per
// parameter, PyTorch's update in float64 over several steps, no in-place write to a buffer that
// another tensor shares, no stale host copy after an update. Runs where an adapter exists
// (SwiftShader here and in CI), otherwise skipped with the reason printed.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { probeBackend, selectBackend } from '../src/backend/select-backend.js';
import { createOptimizer } from '../src/optim/index.js';
import { silentLogger } from '../src/util/logger.js';
import { scaledError } from '@detkit/core/testing';
import { programsDuring } from './webgpu-compare.js';

const probe = await probeBackend('webgpu');

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2147483648 - 1);
}

/** `steps` AdamW steps (PyTorch's formula) in float64, gradient g_k = grads[k] * scale. */
function adamwReference(p0: Float32Array, grads: Float32Array[], lr: number, wd: number, scale: number): Float64Array {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const p = Float64Array.from(p0);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      const gi = Math.fround(g[i]! * scale);
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      p[i] = p[i]! * (1 - lr * wd) - (lr / (1 - b1 ** t)) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps));
    }
  });
  return p;
}

/** A trainable variable that owns its buffer (as a model's parameters do: made inside a tidy). */
const param = (x: () => tf.Tensor, name: string) => tf.tidy(() => tf.variable(x(), true, name));

/** tfjs programs run (each a dispatch) while `fn` runs. */
const programCount = (fn: () => void): number => programsDuring(fn).length;

if (!probe.ok) {
  console.log(`webgpu Adam-in-place tests skipped: ${probe.why}`);
  test.skip(`webgpu Adam in place (skipped: ${probe.why.slice(0, 160)})`, () => {});
} else {
  test.before(async () => {
    await selectBackend({ backend: 'webgpu', logger: silentLogger });
  });

  test.serial('AdamW in place: 3 steps match float64 to 1e-5, the buffers stay the same, no tfjs program runs after the first', async (t) => {
    const n = 70_000; // several hundred workgroups, not a multiple of 256
    const p0 = values(n, 1);
    const grads = [values(n, 2), values(n, 3), values(n, 4)];
    const w = param(() => tf.tensor1d(p0), 'w1');
    const opt = createOptimizer({ type: 'adamw', lr: 1e-2, weightDecay: 0.05 }, [['w', w]]);
    const id = w.dataId;
    let programs = 0;
    for (const [k, g] of grads.entries()) {
      const gt = tf.tensor1d(g);
      const n = programCount(() => opt.step(new Map([['w', gt]]), 1e-2, 0.37));
      if (k > 0) programs += n; // the first step also fills the moments with zeros
      gt.dispose();
    }
    t.is(w.dataId, id, 'updated in place');
    t.is(programs, 0, 'after the first step, no tfjs program runs');
    const err = scaledError(await w.data(), adamwReference(p0, grads, 1e-2, 0.05, 0.37));
    t.true(err < 1e-5, `max relative error ${err}`);
    const sd = opt.stateDict();
    t.true((await sd.get('exp_avg/w')!.data()).some((x) => x !== 0), 'exp_avg was written');
    opt.dispose();
    w.dispose();
  });

  test.serial('a parameter that shares its buffer is not written in place: the other tensor keeps its values', async (t) => {
    const p0 = values(1000, 5);
    const w = param(() => tf.tensor1d(p0), 'w2');
    const alias = tf.clone(w); // shares w's buffer
    const opt = createOptimizer({ type: 'adamw', lr: 1e-2 }, [['w', w]]);
    const g = tf.tensor1d(values(1000, 6));
    opt.step(new Map([['w', g]]), 1e-2);
    t.deepEqual(Array.from(await alias.data()), Array.from(p0), 'the alias is untouched');
    const err = scaledError(await w.data(), adamwReference(p0, [values(1000, 6)], 1e-2, 0.01, 1));
    t.true(err < 1e-5, `the parameter still got the update (max relative error ${err})`);
    tf.dispose([alias, g, w]);
    opt.dispose();
  });

  test.serial('a value read before an update is not served after it (no stale host copy)', async (t) => {
    const w = param(() => tf.tensor1d(values(500, 7)), 'w3');
    const opt = createOptimizer({ type: 'adamw', lr: 0.1 }, [['w', w]]);
    const g = tf.tensor1d(values(500, 8));
    const before = Array.from(await w.data()); // tfjs keeps this copy on the host
    opt.step(new Map([['w', g]]), 0.1);
    const inFlight = w.data(); // recorded after the update: sees it
    const after = Array.from(await w.data());
    t.notDeepEqual(after, before);
    t.deepEqual(Array.from(await inFlight), after);
    // A read begun before the next update returns the older values and caches nothing.
    const early = w.data();
    opt.step(new Map([['w', g]]), 0.1);
    t.deepEqual(Array.from(await early), after);
    t.notDeepEqual(Array.from(await w.data()), after);
    tf.dispose([g, w]);
    opt.dispose();
  });

  test.serial('the tensor count stays flat over 20 in-place steps', (t) => {
    const w = param(() => tf.tensor2d(values(64 * 32, 9), [64, 32]), 'w4');
    const opt = createOptimizer({ type: 'adamw', lr: 1e-3 }, [['w', w]]);
    const g = tf.tensor2d(values(64 * 32, 10), [64, 32]);
    opt.step(new Map([['w', g]]), 1e-3);
    const count = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) opt.step(new Map([['w', g]]), 1e-3);
    t.is(tf.memory().numTensors, count);
    tf.dispose([g, w]);
    opt.dispose();
  });
}
