// The speed-ups in the DAB-DETR decoder must not change what it computes: shared (batch-1)
// queries equal the same queries tiled per image, values AND gradients; `stopGradient`
// gives the gradients `detach` gives (zeros through it) without leaking buffers.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { MLP, selectBackend, silentLogger } from '@detkit/core';
import { DabDecoder } from '../src/dab-detr/decoder.js';
import { detach, stopGradient } from '../src/transformer/detach.js';
import { scaledError } from '@detkit/core/testing';
import { rng } from './box-helpers.js';

test.before(async () => {
  await selectBackend({ backend: 'wasm', logger: silentLogger });
});

function rand(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  const r = rng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * r()), shape);
}

/** The scale floor for gradients: one that is zero in exact arithmetic (e.g. a key bias, which
 * shifts every score of a softmax row alike) is rounding noise in both. */
const GRAD_SCALE_FLOOR = 1e-2;

test('DabDecoder: batch-1 shared queries = the same queries tiled per image (outputs and all gradients)', (t) => {
  const d = 16;
  const [b, q, l] = [3, 5, 6];
  const decoder = new DabDecoder({ dModel: d, numHeads: 2, dimFeedforward: 32, numLayers: 3, seed: 11 });
  const boxHead = new MLP(d, d, 4, 3, { seed: 12 });
  const memory = rand([b, l, d], 1) as tf.Tensor3D;
  const pos = rand([b, l, d], 2) as tf.Tensor3D;
  const mask = tf.tensor2d([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0]]);
  const tgt1 = rand([1, q, d], 3, -0.5, 0.5) as tf.Tensor3D;
  const anchors1 = rand([1, q, 4], 4, 0.2, 0.8) as tf.Tensor3D;
  const named = [...decoder.trainableParameters(), ...boxHead.trainableParameters().map(([n, v]) => [`boxHead.${n}`, v] as const)];
  const vars = named.map(([, v]) => v);
  const nameOf = new Map(named.map(([n, v]) => [v.name, n]));
  const loss = (shared: boolean) => () =>
    tf.tidy(() => {
      const tile = (x: tf.Tensor3D) => (shared ? x : (tf.tile(x, [b, 1, 1]) as tf.Tensor3D));
      const { hs, references } = decoder.forward(tile(tgt1), tile(anchors1), memory, pos, boxHead, { memoryKeyPaddingMask: mask });
      t.deepEqual(references[0]!.shape, [b, q, 4]);
      const w = rand([b, q, d], 9);
      const terms = hs.map((h, k) => tf.mul(tf.sum(tf.mul(h, w)), k + 1));
      return tf.addN([...terms, ...references.map((r) => tf.sum(tf.sqrt(r)))]) as tf.Scalar;
    });
  const shared = tf.variableGrads(loss(true), vars);
  const tiled = tf.variableGrads(loss(false), vars);
  t.true(scaledError(shared.value.dataSync(), tiled.value.dataSync(), GRAD_SCALE_FLOOR) < 1e-5);
  t.is(Object.keys(shared.grads).length, vars.length, 'every parameter gets a gradient');
  for (const v of vars) {
    const e = scaledError(shared.grads[v.name]!.dataSync(), tiled.grads[v.name]!.dataSync(), GRAD_SCALE_FLOOR);
    t.true(e < 1e-4, `${nameOf.get(v.name)}: relative error ${e}`);
  }
  tf.dispose([shared.value, tiled.value, ...Object.values(shared.grads), ...Object.values(tiled.grads), memory, pos, mask, tgt1, anchors1]);
  decoder.dispose();
  boxHead.dispose();
});

test('stopGradient = detach for the gradients of every other path; shares the buffer without leaks', (t) => {
  const x = tf.variable(rand([4, 3], 5));
  const y = tf.variable(rand([3, 2], 6));
  // z feeds a detached branch and a live one; the detached branch also multiplies y.
  const f = (cut: (t: tf.Tensor) => tf.Tensor) => () =>
    tf.tidy(() => {
      const z = tf.matMul(x, y);
      const branch = tf.sum(tf.mul(tf.sin(cut(z)), tf.sum(y)));
      return tf.add(branch, tf.sum(tf.square(z))) as tf.Scalar;
    });
  const a = tf.variableGrads(f(detach), [x, y]);
  const b = tf.variableGrads(f(stopGradient), [x, y]);
  t.is(a.value.dataSync()[0], b.value.dataSync()[0]);
  for (const v of [x, y]) t.deepEqual(Array.from(b.grads[v.name]!.dataSync()), Array.from(a.grads[v.name]!.dataSync()));
  tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);

  const before = { tensors: tf.memory().numTensors, buffers: tf.memory().numDataBuffers };
  const src = tf.tensor1d([1, 2, 3]);
  const cut = stopGradient(src);
  src.dispose();
  t.deepEqual(Array.from(cut.dataSync()), [1, 2, 3], 'outlives its source');
  cut.dispose();
  t.deepEqual({ tensors: tf.memory().numTensors, buffers: tf.memory().numDataBuffers }, before);
  tf.dispose([x, y]);
});
