import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs'; // registers the gradients (tfjs-core alone has none)
import {
  boxArea, boxArea64, boxCxcywhToXyxy, boxIou, boxIou64, boxXyxyToCxcywh, cxcywhToXyxy64, elementwiseGiou,
  elementwiseGiou64, elementwiseIou, generalizedBoxIou, generalizedBoxIou64, inverseSigmoid, inverseSigmoid64,
  normalizeBoxes, normalizeBoxes64, scaleBoxesToPixels, scaleBoxesToPixels64, xyxyToCxcywh64,
} from '../src/box/index.js';
import { closeness, finiteDiff } from '@detkit/core/testing';
import { randomCxcywh, rng } from './box-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const t2 = (a: ArrayLike<number>) => tf.tensor2d(Array.from(a), [a.length / 4, 4]);
/** Runs `f` in a tidy scope (inputs included) and returns its values. */
const read = (f: () => tf.Tensor) => tf.tidy(() => f().dataSync().slice());

test('hand-worked IoU and GIoU of two overlapping squares', (t) => {
  // [0,0,2,2] vs [1,1,3,3]: intersection 1, union 7, enclosing 9.
  const a = [0, 0, 2, 2], b = [1, 1, 3, 3], far = [10, 10, 11, 11];
  t.true(Math.abs(boxIou64(a, b)[0] - 1 / 7) < 1e-7);
  t.true(Math.abs(generalizedBoxIou64(a, b)[0] - (1 / 7 - 2 / 9)) < 1e-7);
  // Disjoint [0,0,2,2] vs [10,10,11,11]: IoU 0, union 5, enclosing 121 -> GIoU = -(116/121).
  t.true(Math.abs(generalizedBoxIou64(a, far)[0] + 116 / 121) < 1e-7);
  const g = read(() => generalizedBoxIou(t2(a), t2([...b, ...far])));
  t.true(closeness(g, [1 / 7 - 2 / 9, -116 / 121], 1e-6, 1e-5) <= 1);
  t.true(Math.abs(read(() => generalizedBoxIou(t2(a), t2(a)))[0] - 1) < 1e-6);
});

test('conversions, area, scaling match the float64 versions and round-trip', (t) => {
  const before = tf.memory().numTensors;
  const rand = rng(1);
  const c = randomCxcywh(rand, 9);
  const xyxy64 = cxcywhToXyxy64(c);
  t.true(closeness(read(() => boxCxcywhToXyxy(t2(c))), xyxy64, 1e-6, 1e-6) <= 1);
  t.true(closeness(xyxyToCxcywh64(xyxy64), c, 1e-12, 0) <= 1);
  t.true(closeness(read(() => boxXyxyToCxcywh(t2(xyxy64))), c, 1e-6, 1e-6) <= 1);
  const area = read(() => boxArea(t2(xyxy64)));
  t.true(closeness(area, boxArea64(xyxy64), 1e-7, 1e-5) <= 1);
  for (let i = 0; i < 9; i++) t.true(Math.abs(area[i] - c[4 * i + 2] * c[4 * i + 3]) < 1e-6);
  const px = scaleBoxesToPixels64(c, 640, 480);
  t.true(closeness(read(() => scaleBoxesToPixels(t2(c), 640, 480)), px, 1e-3, 1e-6) <= 1);
  t.is(px[0], (c[0] - c[2] / 2) * 640);
  t.is(px[3], (c[1] + c[3] / 2) * 480);
  t.true(closeness(normalizeBoxes64(px, 640, 480), c, 1e-12, 0) <= 1);
  t.true(closeness(read(() => normalizeBoxes(t2(px), 640, 480)), c, 1e-6, 1e-5) <= 1);
  t.is(tf.memory().numTensors, before);
});

test('pairwise IoU / GIoU match float64 on random boxes; elementwise GIoU is the diagonal', (t) => {
  const before = tf.memory().numTensors;
  const rand = rng(2);
  const a = cxcywhToXyxy64(randomCxcywh(rand, 7));
  const b = cxcywhToXyxy64(randomCxcywh(rand, 5));
  const iou = read(() => boxIou(t2(a), t2(b)));
  const giou = read(() => generalizedBoxIou(t2(a), t2(b)));
  t.deepEqual([iou.length, giou.length], [35, 35]);
  t.true(closeness(iou, boxIou64(a, b), 1e-6, 1e-5) <= 1);
  t.true(closeness(giou, generalizedBoxIou64(a, b), 1e-6, 1e-5) <= 1);
  const some = (arr: ArrayLike<number>, p: (v: number) => boolean) => Array.from(arr).some(p);
  t.true(some(iou, (v) => v > 0.05) && some(iou, (v) => v === 0), 'test boxes cover overlapping and disjoint pairs');
  const a5 = a.slice(0, 20);
  const diag = read(() => elementwiseGiou(t2(a5), t2(b)));
  t.true(closeness(diag, elementwiseGiou64(a5, b), 1e-6, 1e-5) <= 1);
  const pair = generalizedBoxIou64(a5, b);
  for (let i = 0; i < 5; i++) t.true(Math.abs(diag[i] - pair[i * 5 + i]) < 1e-5);
  const eiou = read(() => elementwiseIou(t2(a5), t2(b)));
  for (let i = 0; i < 5; i++) t.true(Math.abs(eiou[i] - boxIou64(a5, b)[i * 5 + i]) < 1e-5);
  t.is(tf.memory().numTensors, before);
});

/** Gradient check: d/d(inputs) of sum(W * f(cxcywh->xyxy(a), cxcywh->xyxy(b))) against float64 finite differences. */
function checkGrad(
  t: import('ava').ExecutionContext,
  tfFn: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor,
  jsFn: (a: Float64Array, b: Float64Array) => Float64Array,
  n: number,
  m: number,
  seed: number,
) {
  const rand = rng(seed);
  const a = randomCxcywh(rand, n);
  const b = randomCxcywh(rand, m);
  const outLen = jsFn(cxcywhToXyxy64(a), cxcywhToXyxy64(b)).length;
  const w = Array.from({ length: outLen }, () => rand() * 2 - 1);
  const loss64 = (x: Float64Array, y: Float64Array) => jsFn(cxcywhToXyxy64(x), cxcywhToXyxy64(y)).reduce((s, v, i) => s + v * w[i], 0);
  const before = tf.memory().numTensors;
  const grads = tf.tidy(() => {
    const wt = tf.tensor1d(w);
    const f = (x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(tf.reshape(tfFn(boxCxcywhToXyxy(x as tf.Tensor2D), boxCxcywhToXyxy(y as tf.Tensor2D)), [-1]), wt));
    return tf.grads(f)([t2(a), t2(b)]);
  });
  const [ga, gb] = grads.map((g) => read(() => g));
  grads.forEach((g) => g.dispose());
  t.is(tf.memory().numTensors, before);
  const fa = finiteDiff((x) => loss64(x, b), a);
  const fb = finiteDiff((y) => loss64(a, y), b);
  t.true(fa.some((v) => Math.abs(v) > 1e-2), 'gradient is not trivially zero');
  t.true(closeness(ga, fa, 2e-4, 2e-3) <= 1, `dA ${Array.from(ga).slice(0, 6)} vs ${Array.from(fa).slice(0, 6)}`);
  t.true(closeness(gb, fb, 2e-4, 2e-3) <= 1, `dB ${Array.from(gb).slice(0, 6)} vs ${Array.from(fb).slice(0, 6)}`);
}

test('pairwise GIoU gradient matches finite differences', (t) => {
  checkGrad(t, generalizedBoxIou, generalizedBoxIou64, 6, 4, 3);
});

test('pairwise IoU gradient matches finite differences', (t) => {
  checkGrad(t, boxIou, boxIou64, 6, 4, 4);
});

test('elementwise GIoU gradient matches finite differences', (t) => {
  checkGrad(t, elementwiseGiou, elementwiseGiou64, 8, 8, 5);
});

test('inverse sigmoid inverts sigmoid inside the clamp and is clamped outside (eps 1e-3 default)', (t) => {
  const xs = [0, 1e-4, 0.01, 0.3, 0.5, 0.9, 0.999, 1, 1.5, -0.2];
  const y = read(() => inverseSigmoid(tf.tensor1d(xs)));
  xs.forEach((x, i) => t.true(Math.abs(y[i] - inverseSigmoid64(x)) < 1e-4, `x=${x}`));
  t.true(Math.abs(y[0] - Math.log(1e-3)) < 1e-4);
  t.true(Math.abs(y[7] - Math.log(1 / 1e-3)) < 1e-4);
  for (const i of [2, 3, 4, 5]) t.true(Math.abs(1 / (1 + Math.exp(-y[i])) - xs[i]) < 1e-5);
  const y5 = read(() => inverseSigmoid(tf.tensor1d([0]), 1e-5));
  t.true(Math.abs(y5[0] - Math.log(1e-5)) < 1e-3);
});
