import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { closeness, finiteDiff, gradCheck, maxAbsDiff, scaledError } from '@detkit/core/testing';
import { registerTfjsGradients } from '../src/backend/gradients.js';

test.before(async () => {
  await registerTfjsGradients(); // tfjs-core alone registers no op gradients
  await tf.setBackend('cpu');
});

test('maxAbsDiff, scaledError and closeness on hand-worked values', (t) => {
  const a = [1, -2, 3.5];
  const b = [1.5, -2, 3];
  t.is(maxAbsDiff(a, b), 0.5);
  t.is(scaledError(a, b), 0.5 / 3); // divided by max |b|
  t.is(scaledError([0.1, 0], [0, 0]), 0.1, 'an all-zero reference gives the absolute error');
  t.is(scaledError([0.001], [0.0001], 1e-2), 0.0009 / 1e-2, 'the floor replaces a scale below it');
  t.is(closeness(a, b, 0.1, 0.1), 0.5 / (0.1 + 0.1 * 1.5)); // worst entry: the first (the last is 0.5 / 0.4)
  t.is(closeness([1, 2], [1, 2], 0, 0), 0, 'equal values are close even with no tolerance (numpy: 0 <= 0)');
});

test('a length mismatch or a NaN never passes a tolerance check', (t) => {
  for (const f of [maxAbsDiff, scaledError, (x: number[], y: number[]) => closeness(x, y, 1e-6, 1e-6)]) {
    t.is(f([1, 2], [1, 2, 3]), Infinity);
    t.is(f([NaN, 2], [1, 2]), Infinity);
  }
});

test('finiteDiff matches the analytic gradient of a float64 polynomial', (t) => {
  // f(x) = x0^3 + x0 x1 + sin(x2); grad = (3 x0^2 + x1, x0, cos(x2)).
  const f = (x: Float64Array) => x[0]! ** 3 + x[0]! * x[1]! + Math.sin(x[2]!);
  const x = [0.7, -1.3, 2.1];
  const g = finiteDiff(f, x);
  t.true(maxAbsDiff(g, [3 * 0.49 - 1.3, 0.7, Math.cos(2.1)]) < 1e-8);
  t.deepEqual(Array.from(x), [0.7, -1.3, 2.1], 'the input is not modified');
});

test('gradCheck passes a correct gradient, flags a wrong one, restores the variables and leaks nothing', (t) => {
  const w = tf.variable(tf.tensor1d([0.5, -1, 2]), true, 'gc_w');
  const before = tf.memory().numTensors;
  const right = gradCheck(() => tf.sum(tf.mul(tf.square(w), tf.tensor1d([1, 2, 3]))), { w });
  t.true(right.w! < 1e-3, `correct gradient: ${right.w}`);
  // The same function with a gradient off by a factor of 2.
  const wrongSquare = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return { value: tf.square(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const wrong = gradCheck(() => tf.sum(tf.mul(wrongSquare(w) as tf.Tensor, tf.tensor1d([1, 2, 3]))), { w });
  t.true(wrong.w! > 0.3, `wrong gradient flagged: ${wrong.w}`);
  t.deepEqual(Array.from(w.dataSync()), [0.5, -1, 2], 'variable restored');
  t.is(tf.memory().numTensors, before);
  const detached = tf.variable(tf.scalar(1), true, 'gc_unused');
  t.throws(() => gradCheck(() => tf.sum(w), { w, detached }), { message: /no gradient reaches variable 'detached'/ });
  w.dispose();
  detached.dispose();
});
