import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTfjsGradients } from '../src/backend/gradients.js';
import { GroupNorm } from '../src/nn/index.js';
import { maxAbsDiff } from '@detkit/core/testing';
import { randArray } from './random-inputs.js';

test.before(async () => {
  await registerTfjsGradients();
  await tf.setBackend('cpu');
});

/** float64 GroupNorm on NHWC from the definition: per image and group, over positions x group channels. */
function groupNormRef(x: number[], shape: [number, number, number, number], groups: number, w: number[], b: number[]): number[] {
  const [n, h, wd, c] = shape;
  const cg = c / groups;
  const y = new Array<number>(x.length);
  for (let i = 0; i < n; i++)
    for (let g = 0; g < groups; g++) {
      const idx: number[] = [];
      for (let p = 0; p < h * wd; p++) for (let k = 0; k < cg; k++) idx.push((i * h * wd + p) * c + g * cg + k);
      const m = idx.reduce((s, j) => s + x[j]!, 0) / idx.length;
      const v = idx.reduce((s, j) => s + (x[j]! - m) ** 2, 0) / idx.length;
      for (const j of idx) y[j] = ((x[j]! - m) / Math.sqrt(v + 1e-5)) * w[j % c]! + b[j % c]!;
    }
  return y;
}

const SHAPE: [number, number, number, number] = [2, 3, 2, 6];

for (const groups of [1, 3, 6]) {
  test(`GroupNorm(${groups}, 6) forward and gradients (x, weight, bias) = float64 reference`, (t) => {
    const gn = new GroupNorm(groups, 6);
    const wv = [1, 2, -1, 0.5, 1.5, -0.3];
    const bv = [0, 0.1, 0.2, 0.3, -0.2, 0.5];
    tf.tidy(() => {
      gn.weight!.assign(tf.tensor1d(wv));
      gn.bias!.assign(tf.tensor1d(bv));
    });
    const xs = randArray(SHAPE.reduce((a, b) => a * b), 3 + groups).map((v, i) => v * (1 + (i % 5)));
    const r = randArray(xs.length, 40);
    const y = tf.tidy(() => gn.forward(tf.tensor(xs, SHAPE)));
    t.true(maxAbsDiff(y.dataSync(), groupNormRef(xs, SHAPE, groups, wv, bv)) < 1e-5);
    y.dispose();
    // Gradients of sum(y * r) against float64 central differences of the reference.
    const loss64 = (x: number[], w: number[], b: number[]) => groupNormRef(x, SHAPE, groups, w, b).reduce((s, v, i) => s + v * r[i]!, 0);
    const fd = (arr: number[], f: (a: number[]) => number) =>
      arr.map((_, i) => {
        const e = 1e-6;
        const p = [...arr];
        const m = [...arr];
        p[i]! += e;
        m[i]! -= e;
        return (f(p) - f(m)) / (2 * e);
      });
    const x = tf.variable(tf.tensor(xs, SHAPE));
    const rt = tf.tensor(r, SHAPE);
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(gn.forward(x), rt)) as tf.Scalar, [x, gn.weight!, gn.bias!]);
    const want = {
      x: fd(xs, (a) => loss64(a, wv, bv)),
      weight: fd(wv, (a) => loss64(xs, a, bv)),
      bias: fd(bv, (a) => loss64(xs, wv, a)),
    };
    const got = { x: grads[x.name]!, weight: grads[gn.weight!.name]!, bias: grads[gn.bias!.name]! };
    for (const k of ['x', 'weight', 'bias'] as const) {
      const err = maxAbsDiff(got[k].dataSync(), want[k]);
      t.true(err < 1e-4, `${k}: ${err}`);
    }
    tf.dispose([value, x, rt, ...Object.values(grads)]);
    gn.dispose();
  });
}

test('GroupNorm: names as torch, channels must divide into groups, input must end with C', (t) => {
  const gn = new GroupNorm(2, 4);
  t.deepEqual([...gn.stateDict().keys()], ['weight', 'bias']);
  t.throws(() => new GroupNorm(3, 4), { message: /divisible by numGroups 3/ });
  t.throws(() => tf.tidy(() => gn.forward(tf.zeros([1, 2, 2, 3]))), { message: /must be \[B, \.\.\., 4\]/ });
  gn.dispose();
});
