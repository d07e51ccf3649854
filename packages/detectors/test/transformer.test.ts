import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTfjsGradients } from '@detkit/core';
import {
  MASKED,
  MultiheadAttention,
  blockDiagonalMask,
  multiHeadAttention,
  sineEmbedForPosition,
  sinePositionEmbedding,
} from '../src/detectors.js';
import { finiteDiff } from '@detkit/core/testing';
import { rng } from './box-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await registerTfjsGradients();
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

// ---- float64 references written from the PyTorch code ----

/** DETR PositionEmbeddingSine on a [B,h,w] mask (1 = real) -> [B,h,w,2F]. */
function detrPos64(mask: number[][][], F: number, T = 10000, scale = 2 * Math.PI): Float64Array {
  const B = mask.length, H = mask[0]!.length, W = mask[0]![0]!.length;
  const out = new Float64Array(B * H * W * 2 * F);
  for (let b = 0; b < B; b++) {
    const ye: number[][] = [], xe: number[][] = [];
    for (let i = 0; i < H; i++) { ye.push([]); xe.push([]); for (let j = 0; j < W; j++) {
      let sy = 0; for (let r = 0; r <= i; r++) sy += mask[b]![r]![j]!;
      let sx = 0; for (let c = 0; c <= j; c++) sx += mask[b]![i]![c]!;
      ye[i]!.push(sy); xe[i]!.push(sx);
    } }
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
      const y = (ye[i]![j]! / (ye[H - 1]![j]! + 1e-6)) * scale;
      const x = (xe[i]![j]! / (xe[i]![W - 1]! + 1e-6)) * scale;
      const o = ((b * H + i) * W + j) * 2 * F;
      for (let k = 0; k < F; k++) {
        const dimT = Math.pow(T, (2 * Math.floor(k / 2)) / F);
        out[o + k] = k % 2 === 0 ? Math.sin(y / dimT) : Math.cos(y / dimT);
        out[o + F + k] = k % 2 === 0 ? Math.sin(x / dimT) : Math.cos(x / dimT);
      }
    }
  }
  return out;
}

/** DAB-DETR gen_sineembed_for_position for one [4] box -> [4F] in order y, x, w, h. */
function sineEmbed64(box: ArrayLike<number>, F: number, T = 10000): number[] {
  const order = [1, 0, 2, 3];
  const out: number[] = [];
  for (const c of order) {
    const v = box[c]! * 2 * Math.PI;
    for (let k = 0; k < F; k++) {
      const dimT = Math.pow(T, (2 * Math.floor(k / 2)) / F);
      out.push(k % 2 === 0 ? Math.sin(v / dimT) : Math.cos(v / dimT));
    }
  }
  return out;
}

/** Multi-head attention, batch first, float64: q [B,Lq,H*dq], k [B,Lk,H*dq], v [B,Lk,H*dv]. */
function mha64(q: Float64Array, k: Float64Array, v: Float64Array, dims: { B: number; Lq: number; Lk: number; H: number; dq: number; dv: number }, keep?: number[][], bias?: number[][]): Float64Array {
  const { B, Lq, Lk, H, dq, dv } = dims;
  const out = new Float64Array(B * Lq * H * dv);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < Lq; i++) {
    const s: number[] = [];
    for (let j = 0; j < Lk; j++) {
      let dot = 0;
      for (let e = 0; e < dq; e++) dot += q[(b * Lq + i) * H * dq + h * dq + e]! * k[(b * Lk + j) * H * dq + h * dq + e]!;
      let val = dot / Math.sqrt(dq);
      if (keep && !keep[b]![j]) val = -Infinity;
      if (bias && bias[i]![j]! < 0) val = -Infinity;
      s.push(val);
    }
    const mx = Math.max(...s);
    const ex = s.map((x) => Math.exp(x - mx));
    const z = ex.reduce((a, c) => a + c, 0);
    for (let e = 0; e < dv; e++) {
      let acc = 0;
      for (let j = 0; j < Lk; j++) acc += (ex[j]! / z) * v[(b * Lk + j) * H * dv + h * dv + e]!;
      out[(b * Lq + i) * H * dv + h * dv + e] = acc;
    }
  }
  return out;
}

/** Random values exactly representable in float32, so the float64 reference sees the same inputs. */
function randArr(r: () => number, n: number, s = 1): Float64Array {
  return Float64Array.from({ length: n }, () => Math.fround((r() * 2 - 1) * s));
}
const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

test('sinePositionEmbedding matches DETR PositionEmbeddingSine in float64 (with padding)', (t) => {
  const mask = [
    [[1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]],
    [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]],
  ];
  const F = 6;
  const got = tf.tidy(() => sinePositionEmbedding(tf.tensor3d(mask), { numFeats: F }).dataSync());
  t.true(maxAbsDiff(got, detrPos64(mask, F)) < 1e-5);
  // Real pixels of the padded image get the same codes as an unpadded image of the real size.
  const small = tf.tidy(() => sinePositionEmbedding(tf.ones([1, 2, 3]) as tf.Tensor3D, { numFeats: F }).dataSync());
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let c = 0; c < 2 * F; c++) {
    t.true(Math.abs(got[(i * 4 + j) * 2 * F + c]! - small[(i * 3 + j) * 2 * F + c]!) < 1e-5);
  }
});

test('sineEmbedForPosition matches gen_sineembed_for_position and its gradient matches finite differences', (t) => {
  const r = rng(3);
  const F = 8;
  const boxes = Float64Array.from({ length: 3 * 4 }, () => Math.fround(0.05 + 0.9 * r()));
  const w = randArr(r, 3 * 4 * F);
  const got = tf.tidy(() => sineEmbedForPosition(tf.tensor2d(f32(boxes), [3, 4]), { numFeats: F }).dataSync());
  const want = [0, 1, 2].flatMap((i) => sineEmbed64(boxes.subarray(4 * i, 4 * i + 4), F));
  t.true(maxAbsDiff(got, want) < 1e-5);
  const f64 = (x: Float64Array) => [0, 1, 2].flatMap((i) => sineEmbed64(x.subarray(4 * i, 4 * i + 4), F)).reduce((s, v, k) => s + v * w[k]!, 0);
  const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(sineEmbedForPosition(x, { numFeats: F }), tf.tensor2d(f32(w), [3, 4 * F]))))(tf.tensor2d(f32(boxes), [3, 4])).dataSync());
  const fd = finiteDiff(f64, boxes);
  t.true(maxAbsDiff(g, fd) < 1e-3 * Math.max(1, ...Array.from(fd, Math.abs)));
});

test('multiHeadAttention with key padding and additive mask matches float64; gradients match finite differences', (t) => {
  const r = rng(7);
  const dims = { B: 2, Lq: 5, Lk: 6, H: 2, dq: 3, dv: 4 };
  const { B, Lq, Lk, H, dq, dv } = dims;
  const q = randArr(r, B * Lq * H * dq, 2), k = randArr(r, B * Lk * H * dq, 2), v = randArr(r, B * Lk * H * dv);
  const keep = [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]];
  const bias = Array.from({ length: Lq }, (_, i) => Array.from({ length: Lk }, (_, j) => ((i + j) % 3 === 0 ? MASKED : 0)));
  const opts = () => ({ keyPaddingMask: tf.tensor2d(keep), attnMask: tf.tensor2d(bias) });
  const got = tf.tidy(() => multiHeadAttention(tf.tensor3d(f32(q), [B, Lq, H * dq]), tf.tensor3d(f32(k), [B, Lk, H * dq]), tf.tensor3d(f32(v), [B, Lk, H * dv]), H, opts()).dataSync());
  const want = mha64(q, k, v, dims, keep, bias);
  t.true(maxAbsDiff(got, want) < 1e-5, `max diff ${maxAbsDiff(got, want)}`);
  // Gradient w.r.t. q, k and v of sum(out * w) vs central differences of the float64 reference.
  const w = randArr(r, want.length);
  const grads = tf.tidy(() => {
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(multiHeadAttention(a, b, c, H, opts()), tf.tensor1d(f32(w)).reshape([B, Lq, H * dv])));
    return tf.grads(f)([tf.tensor3d(f32(q), [B, Lq, H * dq]), tf.tensor3d(f32(k), [B, Lk, H * dq]), tf.tensor3d(f32(v), [B, Lk, H * dv])]).map((g) => g.dataSync());
  });
  const loss = (qq: Float64Array, kk: Float64Array, vv: Float64Array) => mha64(qq, kk, vv, dims, keep, bias).reduce((s, x, i) => s + x * w[i]!, 0);
  const fds = [finiteDiff((x) => loss(x, k, v), q), finiteDiff((x) => loss(q, x, v), k), finiteDiff((x) => loss(q, k, x), v)];
  fds.forEach((fd, i) => t.true(maxAbsDiff(grads[i]!, fd) < 2e-3, `grad ${i}: ${maxAbsDiff(grads[i]!, fd)}`));
  // Padded keys get no gradient.
  for (let j = 4; j < 6; j++) for (let e = 0; e < H * dq; e++) t.is(grads[1]![(0 * Lk + j) * H * dq + e], 0);
});

test('MultiheadAttention (in_proj / out_proj) equals projections + reference attention', (t) => {
  const r = rng(11);
  const [B, L, d, H] = [2, 4, 8, 2];
  const mha = new MultiheadAttention(d, H, { seed: 5 });
  t.deepEqual(mha.namedParameters().map(([n]) => n), ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
  const x = randArr(r, B * L * d);
  const W = Float64Array.from(mha.inProjWeight.dataSync());
  const bias = randArr(r, 3 * d, 0.1);
  mha.inProjBias.assign(tf.tensor1d(f32(bias)));
  const Wo = Float64Array.from(mha.outProj.weight.dataSync());
  const proj = (m: number) => {
    const out = new Float64Array(B * L * d);
    for (let n = 0; n < B * L; n++) for (let o = 0; o < d; o++) {
      let s = bias[m * d + o]!;
      for (let i = 0; i < d; i++) s += x[n * d + i]! * W[(m * d + o) * d + i]!;
      out[n * d + o] = s;
    }
    return out;
  };
  const att = mha64(proj(0), proj(1), proj(2), { B, Lq: L, Lk: L, H, dq: d / H, dv: d / H });
  const want = new Float64Array(B * L * d);
  for (let n = 0; n < B * L; n++) for (let o = 0; o < d; o++) {
    let s = 0; // out_proj bias starts at zero
    for (let i = 0; i < d; i++) s += att[n * d + i]! * Wo[o * d + i]!;
    want[n * d + o] = s;
  }
  const got = tf.tidy(() => { const xt = tf.tensor3d(f32(x), [B, L, d]); return mha.forward(xt, xt, xt).dataSync(); });
  t.true(maxAbsDiff(got, want) < 1e-5);
  mha.dispose();
});

test('blockDiagonalMask: 0 inside blocks, MASKED across', (t) => {
  const m = tf.tidy(() => blockDiagonalMask([2, 0, 1]).arraySync());
  t.deepEqual(m, [[0, 0, MASKED], [0, 0, MASKED], [MASKED, MASKED, 0]]);
});
