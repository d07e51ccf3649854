// detkit's wasm Concat (short runs copied by a loop) against the cpu backend.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { rand, runOn, setUpBothBackends, wasmVsCpu } from './backend-helpers.js';
import { stockWasmKernel } from '../src/backend/index.js';

test.before(async () => {
  await setUpBothBackends();
});

test('Concat is overridden on wasm', (t) => {
  t.not(stockWasmKernel('Concat'), tf.getKernel('Concat', 'wasm')?.kernelFunc);
});

test('Concat wasm = cpu: every axis, short and long runs, 3 inputs, empty inputs, int32 and bool; gradient too', (t) => {
  const cases: Array<[number[][], number]> = [
    [[[8, 6, 4, 16], [8, 6, 4, 16]], 3], // per-head concatenation (short runs)
    [[[3, 5, 64], [3, 5, 80]], 2], // long runs
    [[[2, 3, 4], [2, 5, 4], [2, 1, 4]], 1],
    [[[2, 3], [4, 3]], 0],
    [[[2, 0, 3], [2, 4, 3], [2, 2, 3]], 1], // an empty input is skipped
    [[[5], [7]], 0],
  ];
  for (const [shapes, axis] of cases) {
    const r = wasmVsCpu(() => tf.concat(shapes.map((s, i) => rand(s, i + 1)), axis));
    t.is(r.error, 0, `concat of ${JSON.stringify(shapes)} on axis ${axis}`);
    t.deepEqual(r.shapes[0], shapes[0]!.map((d, a) => (a === axis ? shapes.reduce((acc, s) => acc + s[a]!, 0) : d)));
  }
  const ints = runOn('wasm', () => tf.concat([tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor2d([5, 6], [2, 1], 'int32')], 1));
  t.deepEqual(Array.from(ints.values[0]!), [1, 2, 5, 3, 4, 6]);
  const bools = runOn('wasm', () => tf.cast(tf.concat([tf.tensor1d([true, false], 'bool'), tf.tensor1d([true], 'bool')]), 'int32'));
  t.deepEqual(Array.from(bools.values[0]!), [1, 0, 1]);
  const grad = wasmVsCpu(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.concat([v, tf.square(v)], 2), rand([2, 3, 8], 9))))(rand([2, 3, 4], 8)));
  t.true(grad.error < 1e-6, `gradient error ${grad.error}`);
});
