/**
 * Multi-scale deformable attention: the fused kernel (wasm and cpu) and the composed-ops
 * version against a float64 reference written from the definition (forward and float64
 * finite-difference gradients), on samples inside, partly outside and fully outside the
 * map, on level boundaries and on padded (zeroed) value rows; plus float32 finite
 * differences of the op itself for the locations and the weights.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { msDeformAttn, type MsDeformAttnImpl } from '../src/backend/index.js';
import { runOn, setUpBothBackends } from './backend-helpers.js';
import { makeCase, referenceForward, referenceGradients, tokensOf, type MsCase } from './ms-deform-attn-reference.js';

test.before(setUpBothBackends);

const TOL = 1e-5;

interface Result {
  out: Float32Array;
  value: Float32Array;
  locations: Float32Array;
  weights: Float32Array;
}

/** Output and gradients of sum(out * dOut) on a backend, by one implementation. */
function run(c: MsCase, backend: 'wasm' | 'cpu', impl: MsDeformAttnImpl, valueMask?: Float64Array): Result {
  const L = c.shapes.length;
  const S = tokensOf(c);
  const { values } = runOn(backend, () => {
    const value = tf.tensor(Float32Array.from(c.value), [c.B, S, c.H, c.D]);
    const locations = tf.tensor(Float32Array.from(c.locations), [c.B, c.Q, c.H, L, c.P, 2]);
    const weights = tf.tensor(Float32Array.from(c.weights), [c.B, c.Q, c.H, L, c.P]);
    const dOut = tf.tensor(Float32Array.from(c.dOut), [c.B, c.Q, c.H * c.D]);
    const mask = valueMask && tf.tensor(Float32Array.from(valueMask), [c.B, S, 1, 1]);
    const f = (v: tf.Tensor, loc: tf.Tensor, w: tf.Tensor) => msDeformAttn(mask ? tf.mul(v, mask) : v, c.shapes, loc, w, impl);
    const out = f(value, locations, weights);
    const grads = tf.grads((v: tf.Tensor, loc: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(f(v, loc, w), dOut)))([value, locations, weights]);
    return [out, ...grads];
  });
  const [out, value, locations, weights] = values as [Float32Array, Float32Array, Float32Array, Float32Array];
  return { out, value, locations, weights };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

const SHAPES: Array<[number, number]> = [[4, 5], [3, 3], [1, 2]];

for (const backend of ['wasm', 'cpu'] as const) {
  for (const impl of ['kernel', 'composed'] as const) {
    test(`${impl} on ${backend}: forward and gradients (value, locations, weights) = float64 reference to 1e-5`, (t) => {
      const c = makeCase(11, SHAPES);
      const ref = referenceGradients(c);
      const got = run(c, backend, impl);
      const errors = {
        out: maxDiff(got.out, referenceForward(c)),
        value: maxDiff(got.value, ref.value),
        locations: maxDiff(got.locations, ref.locations),
        weights: maxDiff(got.weights, ref.weights),
      };
      t.log(JSON.stringify(errors));
      for (const [k, e] of Object.entries(errors)) t.true(e < TOL, `${k}: max error ${e}`);
      // The case really exercises the edges: some samples contribute nothing, some partly.
      const zeroGradLoc = got.locations.filter((v) => v === 0).length;
      t.true(zeroGradLoc > 0 && zeroGradLoc < got.locations.length / 2, `${zeroGradLoc} zero location gradients`);
    });
  }
}

test('level boundaries: a sample in the band past a level edge reads zeros, not the next level', (t) => {
  // Level 0 is 2x2, level 1 is 2x2 with huge values: a right-edge sample of level 0 whose right
  // corners were read from the flat buffer would pick up level-1 rows.
  const c = makeCase(5, [[2, 2], [2, 2]], { B: 1, Q: 1, H: 1, D: 2, P: 1 });
  c.value = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
  // Level 0 sample at pixel (x=1.5, y=0.25): right corners outside; level 1 sample weight 0.
  c.locations = Float64Array.from([(1.5 + 0.5) / 2, (0.25 + 0.5) / 2, 0.5, 0.5]);
  c.weights = Float64Array.from([1, 0]);
  const want = referenceForward(c);
  // By hand: 0.5 * (0.75 * row(0,1) + 0.25 * row(1,1)) = 0.5 * (0.75*[3,4] + 0.25*[7,8]).
  t.true(maxDiff(want, [0.5 * (0.75 * 3 + 0.25 * 7), 0.5 * (0.75 * 4 + 0.25 * 8)]) < 1e-12, `reference ${want}`);
  for (const backend of ['wasm', 'cpu'] as const) {
    for (const impl of ['kernel', 'composed'] as const) t.true(maxDiff(run(c, backend, impl).out, want) < TOL, `${impl} on ${backend}`);
  }
});

test('padded positions: masked value rows get exactly zero gradient; kernel = composed = reference', (t) => {
  const c = makeCase(23, SHAPES);
  const S = tokensOf(c);
  // Image 1's right column of every level is padding (value rows multiplied by 0).
  const mask = new Float64Array(c.B * S).fill(1);
  let start = 0;
  for (const [hl, wl] of c.shapes) {
    for (let y = 0; y < hl; y++) mask[S + start + y * wl + wl - 1] = 0;
    start += hl * wl;
  }
  const masked: MsCase = { ...c, value: c.value.map((v, i) => v * mask[Math.floor(i / (c.H * c.D))]!) };
  const ref = referenceGradients(masked);
  for (const backend of ['wasm', 'cpu'] as const) {
    const k = run(c, backend, 'kernel', mask);
    const m = run(c, backend, 'composed', mask);
    t.true(maxDiff(k.out, referenceForward(masked)) < TOL, `${backend} kernel forward`);
    t.true(maxDiff(k.locations, ref.locations) < TOL && maxDiff(k.weights, ref.weights) < TOL, `${backend} kernel gradients`);
    t.true(maxDiff(k.value, m.value) < TOL && maxDiff(k.locations, m.locations) < TOL, `${backend} kernel vs composed`);
    for (let s = 0; s < c.B * S; s++) {
      if (mask[s] !== 0) continue;
      const g = k.value.subarray(s * c.H * c.D, (s + 1) * c.H * c.D);
      if (g.some((v) => v !== 0)) t.fail(`padded row ${s} got gradient ${g}`);
    }
  }
});

test('float32 finite differences of the kernel op for the locations and the weights', (t) => {
  const c = makeCase(31, SHAPES);
  const L = c.shapes.length;
  const S = tokensOf(c);
  const loss = (loc: Float32Array, w: Float32Array): number =>
    runOn('wasm', () =>
      tf.sum(tf.mul(msDeformAttn(tf.tensor(Float32Array.from(c.value), [c.B, S, c.H, c.D]), c.shapes, tf.tensor(loc, [c.B, c.Q, c.H, L, c.P, 2]), tf.tensor(w, [c.B, c.Q, c.H, L, c.P]), 'kernel'), tf.tensor(Float32Array.from(c.dOut), [c.B, c.Q, c.H * c.D]))),
    ).values[0]![0]!;
  const analytic = run(c, 'wasm', 'kernel');
  const loc0 = Float32Array.from(c.locations);
  const w0 = Float32Array.from(c.weights);
  const eps = 1e-3;
  let worst = 0;
  let checked = 0;
  /** Central differences of `f` at every `stride`-th entry of `x0`, against `grad`. */
  const compare = (x0: Float32Array, stride: number, f: (x: Float32Array) => number, grad: ArrayLike<number>) => {
    for (let i = 0; i < x0.length; i += stride) {
      const plus = Float32Array.from(x0);
      const minus = Float32Array.from(x0);
      plus[i]! += eps;
      minus[i]! -= eps;
      const num = (f(plus) - f(minus)) / (2 * eps);
      worst = Math.max(worst, Math.abs(num - grad[i]!) / Math.max(1, Math.abs(num)));
      checked++;
    }
  };
  compare(loc0, 5, (loc) => loss(loc, w0), analytic.locations);
  compare(w0, 3, (w) => loss(loc0, w), analytic.weights);
  t.log(`${checked} entries, worst relative error ${worst}`);
  t.true(worst < 5e-3, `worst ${worst}`);
});

test('kernel = composed at MNIST-like size on wasm; no tensors leak through forward and backward', (t) => {
  const shapes: Array<[number, number]> = [[8, 8], [4, 4], [2, 2]];
  const c = makeCase(41, shapes, { B: 2, Q: 20, H: 4, D: 8, P: 4 });
  const before = tf.memory().numTensors;
  const k = run(c, 'wasm', 'kernel');
  const m = run(c, 'wasm', 'composed');
  t.is(tf.memory().numTensors, before);
  for (const key of ['out', 'value', 'locations', 'weights'] as const) t.true(maxDiff(k[key], m[key]) < TOL, `${key}: ${maxDiff(k[key], m[key])}`);
});

test('bad shapes fail with INVALID_ARGUMENT naming what is wrong', (t) => {
  tf.tidy(() => {
    const v = tf.zeros([1, 5, 2, 3]);
    const loc = tf.zeros([1, 2, 2, 1, 1, 2]);
    const w = tf.zeros([1, 2, 2, 1, 1]);
    t.throws(() => msDeformAttn(v, [[2, 3]], loc, w), { message: /cover 6 tokens, value has S = 5/ });
    t.throws(() => msDeformAttn(v, [[1, 5]], tf.zeros([1, 2, 2, 1, 2, 2]), w), { message: /locations must be/ });
  });
});
