// detkit's faster wasm replacements of stock kernels (Identity, Slice, SplitV, Tile, GatherV2) against
// the cpu backend, their memory behaviour (shared buffers must stay reference-counted), and
// the fused Adam step against a float64 recurrence.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { scaledError } from '@detkit/core/testing';
import { rand, randomValues, runOn, setUpBothBackends, wasmVsCpu } from './backend-helpers.js';
import { fusedAdamStep } from '../src/backend/fused-adam.js';
import { stockWasmKernel } from '../src/backend/index.js';

test.before(async () => {
  await setUpBothBackends();
});

const ours = (name: string) => stockWasmKernel(name) !== tf.getKernel(name, 'wasm')?.kernelFunc;

test('the fast kernels are installed on wasm', (t) => {
  for (const name of ['Identity', 'Slice', 'SplitV', 'Tile', 'GatherV2']) t.true(ours(name), name);
});

test('Slice wasm = cpu: contiguous, inner-axis, middle-axis, short and long runs, rank 1-5', (t) => {
  const cases: [number[], number[], number[]][] = [
    [[10], [3], [4]],
    [[6, 7], [1, 2], [3, 4]],
    [[6, 7], [2, 0], [3, 7]], // contiguous rows
    [[4, 5, 64], [1, 1, 10], [2, 3, 50]], // long runs
    [[4, 5, 6], [0, 2, 0], [4, 2, 6]], // whole trailing axis folded into runs
    [[3, 4, 5, 6], [1, 0, 2, 1], [2, 4, 3, 4]],
    [[2, 3, 4, 5, 6], [1, 1, 0, 2, 3], [1, 2, 4, 3, 2]],
    [[5, 0, 3], [1, 0, 0], [2, 0, 3]], // empty
  ];
  for (const [shape, begin, size] of cases) {
    const r = wasmVsCpu(() => tf.slice(rand(shape, 1), begin, size));
    t.deepEqual(r.shapes[0], size, `shape ${shape}`);
    t.is(r.error, 0, `slice of [${shape}] at [${begin}] size [${size}]`);
  }
  // int32 and bool keep their dtype and values
  const ints = runOn('wasm', () => tf.slice(tf.range(0, 24, 1, 'int32').reshape([2, 3, 4]), [0, 1, 1], [2, 2, 2]));
  t.deepEqual(Array.from(ints.values[0]!), [5, 6, 9, 10, 17, 18, 21, 22]);
  const bools = runOn('wasm', () => tf.cast(tf.slice(tf.tensor2d([[true, false, true], [false, true, true]], [2, 3], 'bool'), [0, 1], [2, 2]), 'int32'));
  t.deepEqual(Array.from(bools.values[0]!), [0, 1, 1, 1]);
});

test('SplitV wasm = cpu: equal parts, sizes with -1, every axis; gradient (concat of slices) too', (t) => {
  for (const axis of [0, 1, 2, -1]) {
    const r = wasmVsCpu(() => tf.split(rand([4, 6, 8], 2), 2, axis));
    t.is(r.error, 0, `axis ${axis}`);
  }
  const sized = wasmVsCpu(() => tf.split(rand([3, 10, 5], 3), [2, -1, 3], 1));
  t.deepEqual(sized.shapes, [[3, 2, 5], [3, 5, 5], [3, 3, 5]]);
  t.is(sized.error, 0);
  const grad = wasmVsCpu(() => {
    const x = rand([2, 5, 12], 4);
    const w = rand([2, 5, 12], 5);
    return tf.grad((v: tf.Tensor) => {
      const [a, b, c] = tf.split(tf.mul(v, w), [3, 4, 5], 2);
      return tf.add(tf.add(tf.sum(tf.square(a!)), tf.sum(tf.mul(b!, 2))), tf.sum(tf.sin(c!)));
    })(x);
  });
  t.true(grad.error < 1e-6, `gradient error ${grad.error}`);
});

test('Tile wasm = cpu: batch repeat, inner repeats, several axes, int32; gradient too', (t) => {
  const cases: [number[], number[]][] = [
    [[1, 100, 16], [8, 1, 1]],
    [[3, 4], [2, 3]],
    [[2, 3, 4], [1, 2, 1]],
    [[2, 1, 3, 2], [2, 3, 1, 2]],
    [[5], [4]],
  ];
  for (const [shape, reps] of cases) {
    const r = wasmVsCpu(() => tf.tile(rand(shape, 6), reps));
    t.deepEqual(r.shapes[0], shape.map((s, i) => s * reps[i]!));
    t.is(r.error, 0, `tile [${shape}] by [${reps}]`);
  }
  const ints = runOn('wasm', () => tf.tile(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), [1, 2]));
  t.deepEqual(Array.from(ints.values[0]!), [1, 2, 1, 2, 3, 4, 3, 4]);
  const grad = wasmVsCpu(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.tile(v, [3, 1, 2]), rand([6, 3, 8], 8))))(rand([2, 3, 4], 7)));
  t.true(grad.error < 1e-6, `gradient error ${grad.error}`);
});

test('GatherV2 wasm = cpu: axis 0 (long rows), middle and last axis (short runs), 2-d indices, repeats, int32; gradient too', (t) => {
  const idx = (values: number[], shape?: number[]) => tf.tensor(values, shape ?? [values.length], 'int32');
  const cases: [number[], number, number[], number[]?][] = [
    [[6, 7, 7, 8], 0, [5, 0, 2, 2, 1]], // RoIAlign's reorder: whole rows, one repeated
    [[4, 5, 6], 1, [4, 0, 3]],
    [[4, 5, 6], -1, [5, 0, 1, 1], [2, 2]],
    [[9], 0, [8, 0, 3]],
    [[3, 4], 0, []], // empty indices
  ];
  for (const [shape, axis, values, ishape] of cases) {
    const r = wasmVsCpu(() => tf.gather(rand(shape, 9), idx(values, ishape ?? [values.length]), axis));
    t.is(r.error, 0, `gather [${shape}] axis ${axis} at [${values}]`);
  }
  const ints = runOn('wasm', () => tf.gather(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), idx([2, 0]), 0));
  t.deepEqual(Array.from(ints.values[0]!), [5, 6, 1, 2]);
  // out-of-range indices reach the stock kernel, which reports them (as before this override)
  t.throws(() => runOn('wasm', () => tf.gather(tf.ones([3, 2]), idx([3]), 0)));
  const grad = wasmVsCpu(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.gather(v, idx([3, 1, 1, 0]), 1), rand([2, 4, 5], 11))))(rand([2, 4, 5], 10)));
  t.true(grad.error < 1e-6, `gradient error ${grad.error}`);
});

test('GatherV2 wasm: an output large enough to grow the wasm heap still reads the indices right', (t) => {
  // Growing the heap detaches every typed-array view taken before the allocation; a kernel that
  // read the indices through such a view gathered row 0 everywhere, silently.
  const rows = 4;
  const width = 1 << 16;
  const picks = Array.from({ length: 400 }, (_, i) => (i * 7 + 3) % rows); // 400 x 64 Ki floats = 100 MB out
  const [first, last] = runOn('wasm', () => {
    const x = tf.add(tf.mul(tf.expandDims(tf.range(0, rows), 1), 10), tf.zeros([rows, width])); // row r is all 10 r
    const g = tf.gather(x, tf.tensor1d(picks, 'int32'), 0);
    return [tf.slice(g, [0, 0], [picks.length, 1]), tf.slice(g, [0, width - 1], [picks.length, 1])];
  }).values;
  t.deepEqual(Array.from(first!), picks.map((r) => 10 * r));
  t.deepEqual(Array.from(last!), picks.map((r) => 10 * r));
});

test('Identity shares the buffer: clones outlive their source, and nothing leaks', (t) => {
  tf.setBackend('wasm');
  const backend = tf.backend() as unknown as BackendWasm;
  const before = { tensors: tf.memory().numTensors, ids: backend.numDataIds() };
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.clone(x);
  const z = tf.clone(y);
  t.is(backend.numDataIds(), before.ids + 1, 'one buffer for the three tensors');
  x.dispose();
  t.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
  y.dispose();
  t.deepEqual(Array.from(z.dataSync()), [1, 2, 3]);
  z.dispose();
  t.is(tf.memory().numTensors, before.tensors);
  t.is(backend.numDataIds(), before.ids, 'the buffer is freed with the last tensor');
  // Gradients save (clone) their inputs: a training-style loop must stay flat too.
  const w = tf.variable(tf.tensor2d([[0.5, -1], [2, 1]]));
  const step = () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(tf.matMul(w, w))) as tf.Scalar);
    tf.tidy(() => w.assign(tf.sub(w, tf.mul(grads[w.name]!, 0.01))));
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const mid = { tensors: tf.memory().numTensors, ids: backend.numDataIds() };
  for (let i = 0; i < 3; i++) step();
  t.is(tf.memory().numTensors, mid.tensors);
  t.is(backend.numDataIds(), mid.ids);
  w.dispose();
});

test('Identity keeps the values when the source variable is reassigned', (t) => {
  tf.setBackend('wasm');
  const v = tf.variable(tf.tensor1d([1, 2]));
  const snapshot = tf.clone(v);
  v.assign(tf.tensor1d([5, 6]));
  t.deepEqual(Array.from(snapshot.dataSync()), [1, 2]);
  t.deepEqual(Array.from(v.dataSync()), [5, 6]);
  tf.dispose([v, snapshot]);
});

test('fused Adam/AdamW step: wasm = cpu = a float64 recurrence, over several steps', (t) => {
  const n = 1000;
  const attrsFor = (step: number, decoupled: boolean) => ({ lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, decoupled, step });
  for (const decoupled of [true, false]) {
    // float64 reference (PyTorch's formulas)
    const p = Array.from(randomValues(n, 3));
    const m = new Array<number>(n).fill(0);
    const v = new Array<number>(n).fill(0);
    const grads = [1, 2, 3].map((s) => Array.from(randomValues(n, 10 + s)));
    for (const [k, g] of grads.entries()) {
      const a = attrsFor(k + 1, decoupled);
      for (let i = 0; i < n; i++) {
        let gi = g[i]!;
        if (decoupled) p[i] = p[i]! * (1 - a.lr * a.weightDecay);
        else gi += a.weightDecay * p[i]!;
        m[i] = a.beta1 * m[i]! + (1 - a.beta1) * gi;
        v[i] = a.beta2 * v[i]! + (1 - a.beta2) * gi * gi;
        p[i] = p[i]! - (a.lr / (1 - a.beta1 ** a.step)) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - a.beta2 ** a.step) + a.eps));
      }
    }
    for (const backend of ['wasm', 'cpu'] as const) {
      const got = runOn(backend, () => {
        let state = [tf.tensor1d(randomValues(n, 3)), tf.zeros([n]), tf.zeros([n])];
        for (const [k, g] of grads.entries()) {
          const r = fusedAdamStep(state[0]!, tf.tensor1d(g), state[1]!, state[2]!, attrsFor(k + 1, decoupled));
          t.truthy(r, `fused kernel available on ${backend}`);
          state = r!;
        }
        return state;
      });
      t.true(scaledError(got.values[0]!, p) < 1e-6, `${backend} decoupled=${decoupled} params`);
      t.true(scaledError(got.values[1]!, m) < 1e-6, `${backend} exp_avg`);
      t.true(scaledError(got.values[2]!, v) < 1e-6, `${backend} exp_avg_sq`);
    }
  }
});
