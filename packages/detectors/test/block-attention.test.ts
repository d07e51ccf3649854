import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTfjsGradients } from '@detkit/core';
import { blockDiagonalMask, multiHeadAttention } from '../src/detectors.js';
import { maxAbsDiff } from '@detkit/core/testing';

test.before(async () => {
  await tf.setBackend('cpu');
  await registerTfjsGradients();
});

// Independent reference: the full attention under a block-diagonal additive mask.
test('block self-attention equals attention under a block-diagonal mask: values and gradients w.r.t. q, k, v', (t) => {
  const sizes = [5, 0, 3, 4];
  const [b, l, heads] = [2, 12, 2];
  const q = tf.variable(tf.randomNormal([b, l, 8], 0, 1, 'float32', 1));
  const k = tf.variable(tf.randomNormal([b, l, 8], 0, 1, 'float32', 2));
  const v = tf.variable(tf.randomNormal([b, l, 6], 0, 1, 'float32', 3));
  const mask = blockDiagonalMask(sizes);
  const weights = tf.randomNormal([b, l, 6], 0, 1, 'float32', 4); // so each output element's gradient differs
  const loss = (o: tf.Tensor) => tf.sum(tf.mul(o, weights)) as tf.Scalar;
  const before = tf.memory().numTensors;
  const ref = tf.variableGrads(() => loss(multiHeadAttention(q, k, v, heads, { attnMask: mask })), [q, k, v]);
  const got = tf.variableGrads(() => loss(multiHeadAttention(q, k, v, heads, { blocks: sizes })), [q, k, v]);
  t.true(Math.abs(got.value.dataSync()[0]! - ref.value.dataSync()[0]!) < 1e-4);
  const out = multiHeadAttention(q, k, v, heads, { blocks: sizes });
  const outRef = multiHeadAttention(q, k, v, heads, { attnMask: mask });
  t.true(maxAbsDiff(out.dataSync(), outRef.dataSync()) < 1e-5);
  for (const x of [q, k, v]) {
    const g = got.grads[x.name]!.dataSync();
    const r = ref.grads[x.name]!.dataSync();
    t.true(Math.max(...Array.from(r, Math.abs)) > 1e-3);
    t.true(maxAbsDiff(g, r) < 1e-5, `${x.name}: ${maxAbsDiff(g, r)}`);
  }
  // Blocks differ from no isolation (the check above can fail).
  t.true(tf.tidy(() => maxAbsDiff(multiHeadAttention(q, k, v, heads).dataSync(), outRef.dataSync())) > 1e-3);
  tf.dispose([out, outRef, ref.value, got.value, ...Object.values(ref.grads), ...Object.values(got.grads)]);
  t.is(tf.memory().numTensors, before);
  t.throws(() => multiHeadAttention(q, k, v, heads, { blocks: [5, 5] }), { message: /blocks/ });
  t.throws(() => multiHeadAttention(q, k, v, heads, { blocks: sizes, attnMask: mask }), { message: /blocks/ });
  tf.dispose([q, k, v, mask, weights]);
});
