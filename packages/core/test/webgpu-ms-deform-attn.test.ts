/**
 * Multi-scale deformable attention on WebGPU: the WGSL kernels (src/backend/webgpu/ms-deform-attn.ts)
 * against the float64 reference (forward and finite-difference gradients) and against the
 * cpu kernel's loops (msDeformAttnForward / msDeformAttnBackward, float64 accumulation), to
 * 1e-5 of the reference's scale. Runs where an adapter exists (SwiftShader here and in CI),
 * otherwise skipped with the reason printed, as webgpu-kernels.test.ts.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import {
  levelStartsOf, msDeformAttn, msDeformAttnBackward, msDeformAttnForward, MS_DEFORM_ATTN_GRAD_KERNEL, MS_DEFORM_ATTN_KERNEL,
  type MsDeformAttnImpl, type MsDeformGeometry,
} from '../src/backend/index.js';
import { probeBackend, selectBackend } from '../src/backend/select-backend.js';
import { silentLogger } from '../src/util/logger.js';
import { makeCase, referenceForward, referenceGradients, tokensOf, type MsCase } from './ms-deform-attn-reference.js';
import { scaledError } from '@detkit/core/testing';

const probe = await probeBackend('webgpu');
const TOL = 1e-5;

interface Result {
  out: Float32Array;
  value: Float32Array;
  locations: Float32Array;
  weights: Float32Array;
}
type Key = keyof Result;
const KEYS: Key[] = ['out', 'value', 'locations', 'weights'];

/** Output and the gradients of sum(out * dOut), on the active backend (webgpu), by one implementation. */
async function onWebGpu(c: MsCase, impl: MsDeformAttnImpl): Promise<Result> {
  const L = c.shapes.length;
  const S = tokensOf(c);
  const value = tf.tensor(Float32Array.from(c.value), [c.B, S, c.H, c.D]);
  const locations = tf.tensor(Float32Array.from(c.locations), [c.B, c.Q, c.H, L, c.P, 2]);
  const weights = tf.tensor(Float32Array.from(c.weights), [c.B, c.Q, c.H, L, c.P]);
  const dOut = tf.tensor(Float32Array.from(c.dOut), [c.B, c.Q, c.H * c.D]);
  const f = (v: tf.Tensor, loc: tf.Tensor, w: tf.Tensor) => msDeformAttn(v, c.shapes, loc, w, impl);
  const out = f(value, locations, weights);
  const grads = tf.grads((v: tf.Tensor, loc: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(f(v, loc, w), dOut)))([value, locations, weights]);
  const all = [out, ...grads];
  const data = (await Promise.all(all.map((t) => t.data()))) as Float32Array[];
  tf.dispose([value, locations, weights, dOut, ...all]);
  return { out: data[0]!, value: data[1]!, locations: data[2]!, weights: data[3]! };
}

/** The cpu (and wasm) kernel's loops on the same float32 inputs. */
function loops(c: MsCase): Result {
  const S = tokensOf(c);
  const g: MsDeformGeometry = {
    batch: c.B, tokens: S, heads: c.H, headDim: c.D, queries: c.Q, levels: c.shapes.length, points: c.P,
    spatialShapes: c.shapes.flat(), levelStarts: levelStartsOf(c.shapes),
  };
  const [value, locations, weights, dOut] = [c.value, c.locations, c.weights, c.dOut].map((a) => Float32Array.from(a)) as Float32Array[];
  const r: Result = {
    out: new Float32Array(c.dOut.length), value: new Float32Array(value!.length),
    locations: new Float32Array(locations!.length), weights: new Float32Array(weights!.length),
  };
  msDeformAttnForward(g, value!, locations!, weights!, r.out);
  msDeformAttnBackward(g, value!, locations!, weights!, dOut!, r.value, r.locations, r.weights);
  return r;
}


function errors(got: Result, want: Result | Record<Key, ArrayLike<number>>): Record<Key, number> {
  return Object.fromEntries(KEYS.map((k) => [k, scaledError(got[k], want[k])])) as Record<Key, number>;
}

/**
 * Many samples on the same few points: every level has three anchor positions (inside, on the
 * right/bottom border band, partly outside at the top-left), and all Q*P samples of a
 * (b, h, level) sit on one of them: the P points of a query on the same anchor, the queries
 * cycling through the three. Each corner row of an anchor then takes Q*P/3 float adds per
 * channel in the dValue scatter, from neighbouring threads (the same SIMD group on SwiftShader
 * when Dh < 4, so that a non-atomic read-add-write loses updates there too).
 */
function crowdedCase(dims: { B: number; Q: number; H: number; D: number; P: number }, shapes: Array<[number, number]>, seed: number): MsCase {
  const base = makeCase(seed, shapes, dims);
  const L = shapes.length;
  const locations = new Float64Array(base.locations.length);
  for (let i = 0; i < locations.length / 2; i++) {
    const [hl, wl] = shapes[Math.floor(i / dims.P) % L]!;
    // Pixel coordinates (x, y) of the anchors; normalised as (pixel + 0.5) / size.
    const anchors: Array<[number, number]> = [[0.3 * (wl - 1), 0.6 * (hl - 1)], [wl - 0.7, hl - 0.4], [-0.45, -0.8]];
    const [px, py] = anchors[Math.floor(i / dims.P) % 3]!;
    locations[2 * i] = (px + 0.5) / wl;
    locations[2 * i + 1] = (py + 0.5) / hl;
  }
  return { ...base, locations };
}

/** The most samples that share one value row (b, token, h) as a bilinear corner. */
function maxHitsPerRow(c: MsCase): number {
  const S = tokensOf(c);
  const L = c.shapes.length;
  const starts = levelStartsOf(c.shapes);
  const hits = new Map<number, number>();
  for (let i = 0; i < c.weights.length; i++) {
    const l = Math.floor(i / c.P) % L;
    const bqh = Math.floor(i / (L * c.P));
    const [b, h] = [Math.floor(bqh / (c.Q * c.H)), bqh % c.H];
    const [hl, wl] = c.shapes[l]!;
    const x = c.locations[2 * i]! * wl - 0.5;
    const y = c.locations[2 * i + 1]! * hl - 0.5;
    if (!(x > -1 && y > -1 && x < wl && y < hl)) continue;
    for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
      const [cx, cy] = [Math.floor(x) + dx, Math.floor(y) + dy];
      if (cx < 0 || cy < 0 || cx >= wl || cy >= hl) continue;
      const row = (b * S + starts[l]! + cy * wl + cx) * c.H + h;
      hits.set(row, (hits.get(row) ?? 0) + 1);
    }
  }
  return Math.max(...hits.values());
}

if (!probe.ok) {
  console.log(`webgpu ms-deform-attn tests skipped: ${probe.why}`);
  test.skip(`webgpu msDeformAttn (skipped: ${probe.why.slice(0, 160)})`, () => {});
} else {
  test.before(async () => {
    await selectBackend({ backend: 'webgpu', logger: silentLogger });
  });

  test.serial('the WGSL kernels are registered on webgpu and \'auto\' runs them, forward and backward', async (t) => {
    t.is(tf.getBackend(), 'webgpu');
    t.truthy(tf.getKernel(MS_DEFORM_ATTN_KERNEL, 'webgpu'));
    t.truthy(tf.getKernel(MS_DEFORM_ATTN_GRAD_KERNEL, 'webgpu'));
    const c = makeCase(3, [[3, 4], [2, 2]]);
    const kernelsOf = async (impl: MsDeformAttnImpl) => {
      const info = await tf.profile(async () => {
        const r = await onWebGpu(c, impl);
        return tf.tensor(r.out);
      });
      return info.kernels.map((k) => k.name);
    };
    const auto = await kernelsOf('auto');
    const composed = await kernelsOf('composed');
    // Both include the test's own ops (the loss sum(out * dOut), its gradient, the final tensor).
    t.log(`tfjs kernels run for forward + backward: 'auto' ${auto.length} (${auto.join(', ')}); 'composed' ${composed.length}`);
    t.true(auto.includes(MS_DEFORM_ATTN_KERNEL) && auto.includes(MS_DEFORM_ATTN_GRAD_KERNEL), auto.join(', '));
    t.false(auto.includes('GatherV2'), 'no composed gather on the kernel path');
    t.false(composed.includes(MS_DEFORM_ATTN_KERNEL), '\'composed\' stays available');
  });

  test.serial('forward and gradients (value, locations, weights) = float64 reference and = the cpu kernel to 1e-5: B=2, H=2, 3 levels, samples inside / on the border bands / outside', async (t) => {
    const c = makeCase(11, [[4, 5], [3, 3], [1, 2]]);
    const ref = referenceGradients(c);
    const got = await onWebGpu(c, 'kernel');
    const vsRef = errors(got, { out: referenceForward(c), ...ref });
    const vsCpu = errors(got, loops(c));
    t.log(`vs float64 reference ${JSON.stringify(vsRef)}; vs cpu loops ${JSON.stringify(vsCpu)}`);
    for (const k of KEYS) {
      t.true(vsRef[k] < TOL, `${k} vs reference: ${vsRef[k]}`);
      t.true(vsCpu[k] < TOL, `${k} vs cpu: ${vsCpu[k]}`);
    }
    // The case reaches the edges: some samples contribute nothing (zero location gradient), most do.
    const zero = got.locations.filter((v) => v === 0).length;
    t.true(zero > 0 && zero < got.locations.length / 2, `${zero} zero location gradients`);
  });

  test.serial('level boundaries: a sample in the band past a level\'s edge reads zeros, not the next level, and sends it no gradient', async (t) => {
    // As in ms-deform-attn.test.ts: level 0 is 2x2, level 1 (the next rows in S) holds 1000s.
    const c = makeCase(5, [[2, 2], [2, 2]], { B: 1, Q: 1, H: 1, D: 2, P: 1 });
    c.value = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
    // Level-0 sample at pixel (x=1.5, y=0.25): its right corners are outside; the level-1 sample has weight 0.
    c.locations = Float64Array.from([(1.5 + 0.5) / 2, (0.25 + 0.5) / 2, 0.5, 0.5]);
    c.weights = Float64Array.from([1, 0]);
    c.dOut = Float64Array.from([1, -2]);
    const got = await onWebGpu(c, 'kernel');
    const want = [0.5 * (0.75 * 3 + 0.25 * 7), 0.5 * (0.75 * 4 + 0.25 * 8)];
    t.true(scaledError(got.out, want) < TOL, `out ${got.out} vs ${want}`);
    // dValue: 0.5*0.75 and 0.5*0.25 times dOut on rows (0,1) and (1,1) of level 0; zero elsewhere (level 1 included).
    const wantValue = [0, 0, 0.375, -0.75, 0, 0, 0.125, -0.25, 0, 0, 0, 0, 0, 0, 0, 0];
    t.deepEqual(Array.from(got.value), wantValue);
    const ref = loops(c);
    t.true(scaledError(got.locations, ref.locations) < TOL && scaledError(got.weights, ref.weights) < TOL, 'locations / weights gradients = cpu');
  });

  test.serial('dValue accumulation: 64+ samples per corner row (B=2, H=3, 3 levels, Dh 1, 3, 8) = the cpu kernel to 1e-5', async (t) => {
    const shapes: Array<[number, number]> = [[5, 6], [3, 3], [2, 1]];
    for (const D of [1, 3, 8]) {
      const c = crowdedCase({ B: 2, Q: 48, H: 3, D, P: 4 }, shapes, 17 + D);
      const hits = maxHitsPerRow(c);
      t.true(hits >= 64, `${hits} samples share a row`);
      const got = await onWebGpu(c, 'kernel');
      const e = errors(got, loops(c));
      t.log(`Dh ${D}: ${hits} samples on the busiest value row; relative errors ${JSON.stringify(e)}`);
      for (const k of KEYS) t.true(e[k] < TOL, `Dh ${D}, ${k}: ${e[k]}`);
    }
  });

  test.serial('kernel = composed = cpu kernel at MNIST-like size; tensor count flat through forward and backward', async (t) => {
    const c = makeCase(41, [[8, 8], [4, 4], [2, 2]], { B: 2, Q: 20, H: 4, D: 8, P: 4 });
    const want = loops(c);
    await onWebGpu(c, 'kernel'); // compiles the pipelines
    const before = tf.memory().numTensors;
    const k = await onWebGpu(c, 'kernel');
    t.is(tf.memory().numTensors, before, 'kernel path leaks no tensor');
    const m = await onWebGpu(c, 'composed');
    t.is(tf.memory().numTensors, before, 'composed path leaks no tensor');
    const ek = errors(k, want);
    const em = errors(m, want);
    t.log(`kernel ${JSON.stringify(ek)}; composed ${JSON.stringify(em)}`);
    for (const key of KEYS) {
      t.true(ek[key] < TOL, `kernel ${key}: ${ek[key]}`);
      t.true(em[key] < TOL, `composed ${key}: ${em[key]}`);
    }
  });

  test.serial('a dValue scatter past 65535 workgroups (tfjs folds the dispatch into 2-D) = the cpu kernel', async (t) => {
    // B 2 x Q 1100 x H 8 x L 2 x P 4 = 140,800 samples, x Dh 32 = 4.5M threads > 65535 * 64.
    const c = makeCase(53, [[6, 6], [3, 3]], { B: 2, Q: 1100, H: 8, D: 32, P: 4 });
    const threads = c.weights.length * c.D;
    t.true(threads > 65535 * 64, `${threads} threads`);
    const got = await onWebGpu(c, 'kernel');
    const e = errors(got, loops(c));
    t.log(`${threads} dValue threads; relative errors ${JSON.stringify(e)}`);
    for (const k of KEYS) t.true(e[k] < TOL, `${k}: ${e[k]}`);
  });
}
