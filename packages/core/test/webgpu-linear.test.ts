/**
 * `linear` on webgpu adds the bias inside the matmul program (tf.fused.matMul): the output and the
 * gradients (x, weight, bias) equal the separate matmul + add on cpu, with one dispatch fewer.
 * Skipped with the reason printed where no adapter exists.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { probeBackend, selectBackend } from '../src/backend/select-backend.js';
import { linear } from '../src/nn/functional.js';
import { silentLogger } from '../src/util/logger.js';
import { randomValues } from './random-values.js';
import { errorsByKey, fmtErrors, onCpu, programsDuring } from './webgpu-compare.js';

const probe = await probeBackend('webgpu');
type Key = 'y' | 'x' | 'weight' | 'bias';
const KEYS: Key[] = ['y', 'x', 'weight', 'bias'];

/** linear on [2, 7, 12] -> 5 features, and the gradients of sum(y * dOut). */
async function run(): Promise<Record<Key, Float32Array>> {
  const x = tf.variable(tf.tensor3d(randomValues(2 * 7 * 12, 1), [2, 7, 12]));
  const w = tf.variable(tf.tensor2d(randomValues(5 * 12, 2), [5, 12]));
  const b = tf.variable(tf.tensor1d(randomValues(5, 3)));
  const dOut = tf.tensor3d(randomValues(2 * 7 * 5, 4), [2, 7, 5]);
  let y: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul((y = tf.keep(linear(x, w, b))), dOut)), [x, w, b]);
  const outs = [y!, grads[x.name]!, grads[w.name]!, grads[b.name]!];
  const [yv, dx, dw, db] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
  tf.dispose([x, w, b, dOut, value, ...outs]);
  return { y: yv!, x: dx!, weight: dw!, bias: db! };
}

if (!probe.ok) {
  console.log(`webgpu linear tests skipped: ${probe.why}`);
  test.skip(`webgpu linear (skipped: ${probe.why.slice(0, 160)})`, () => {});
} else {
  test.before(async () => {
    await selectBackend({ backend: 'webgpu', logger: silentLogger });
  });

  test.serial('linear with bias: output and gradients = the separate add on cpu; one dispatch fewer', async (t) => {
    const e = errorsByKey(await run(), await onCpu(run), KEYS);
    t.log(`webgpu vs cpu: ${fmtErrors(e)}`);
    for (const k of KEYS) t.true(e[k] < 1e-5, `${k}: ${e[k]}`);
    const x = tf.tensor2d(randomValues(6 * 4, 5), [6, 4]);
    const w = tf.tensor2d(randomValues(3 * 4, 6), [3, 4]);
    const b = tf.tensor1d(randomValues(3, 7));
    const withBias = programsDuring(() => tf.dispose(linear(x, w, b)));
    const without = programsDuring(() => tf.dispose(linear(x, w)));
    t.is(withBias.length, without.length, `with bias: ${withBias.join(', ')}; without: ${without.join(', ')}`);
    tf.dispose([x, w, b]);
  });
}
