import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs'; // registers the gradients (tfjs-core alone has none)
import { isDetkitError } from '@detkit/core';
import { elementwiseGiou64, cxcywhToXyxy64 } from '../src/box/index.js';
import { HungarianMatcher, type MatchIndices } from '../src/matcher/index.js';
import { SetCriterion, gatherRows, giouBoxLoss, l1BoxLoss, layerTermName, sigmoidFocalLoss } from '../src/losses/index.js';
import { closeness, finiteDiff } from '@detkit/core/testing';
import { randomCxcywh, rng } from './box-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const read = (f: () => tf.Tensor) => tf.tidy(() => f().dataSync().slice());
/** Like tf.tidy for results that are not tensors (tidy's typing only admits tensor containers). */
function scoped<T>(f: () => T): T {
  tf.engine().startScope();
  try {
    return f();
  } finally {
    tf.engine().endScope();
  }
}

// ---- float64 references, written from the reference formulas ----

function focal64(x: ArrayLike<number>, tgt: ArrayLike<number>, numBoxes: number, alpha = 0.25, gamma = 2): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const p = 1 / (1 + Math.exp(-x[i]));
    const t = tgt[i];
    // BCE via log-sigmoid, stable for large |x|.
    const logP = -Math.log1p(Math.exp(-x[i]));
    const log1mP = -x[i] + logP;
    const ce = -(t * logP + (1 - t) * log1mP);
    const pT = p * t + (1 - p) * (1 - t);
    s += (alpha * t + (1 - alpha) * (1 - t)) * ce * (1 - pT) ** gamma;
  }
  return s / Math.max(numBoxes, 1);
}

const l164 = (a: ArrayLike<number>, b: ArrayLike<number>, numBoxes: number) =>
  Array.from(a).reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / Math.max(numBoxes, 1);
const giouLoss64 = (a: ArrayLike<number>, b: ArrayLike<number>, numBoxes: number) =>
  elementwiseGiou64(cxcywhToXyxy64(a), cxcywhToXyxy64(b)).reduce((s, g) => s + 1 - g, 0) / Math.max(numBoxes, 1);

// ---- focal loss ----

test('sigmoid focal loss = sum / numBoxes, the reduction of DAB-DETR (mean over Q, sum, / num_boxes, * Q)', (t) => {
  const rand = rng(41);
  const b = 2, q = 5, c = 3;
  const x = Array.from({ length: b * q * c }, () => rand() * 8 - 4);
  x[0] = 40; // saturated logits stay finite
  x[1] = -40;
  const tgt = Array.from({ length: b * q * c }, () => (rand() < 0.2 ? 1 : 0));
  tgt[0] = 0;
  tgt[1] = 1;
  const before = tf.memory().numTensors;
  const got = read(() => sigmoidFocalLoss(tf.tensor3d(x, [b, q, c]), tf.tensor3d(tgt, [b, q, c]), 4))[0];
  t.is(tf.memory().numTensors, before);
  t.true(Math.abs(got - focal64(x, tgt, 4)) < 1e-5 * Math.max(1, focal64(x, tgt, 4)), `${got} vs ${focal64(x, tgt, 4)}`);
  // The literal reference reduction over [B,Q,C]: loss.mean(1).sum() / num_boxes * Q.
  let literal = 0;
  for (let bi = 0; bi < b; bi++)
    for (let ci = 0; ci < c; ci++) {
      let m = 0;
      for (let qi = 0; qi < q; qi++) {
        const k = (bi * q + qi) * c + ci;
        m += focal64([x[k]], [tgt[k]], 1) / q;
      }
      literal += m;
    }
  literal = (literal / 4) * q;
  t.true(Math.abs(got - literal) < 1e-5 * Math.max(1, literal));
  // gamma / alpha are honoured.
  const g1 = read(() => sigmoidFocalLoss(tf.tensor1d(x), tf.tensor1d(tgt), 3, { alpha: 0.5, gamma: 1.5 }))[0];
  t.true(Math.abs(g1 - focal64(x, tgt, 3, 0.5, 1.5)) < 1e-5 * Math.max(1, g1));
});

test('sigmoid focal loss gradient matches finite differences', (t) => {
  const rand = rng(42);
  const x = Array.from({ length: 24 }, () => rand() * 6 - 3);
  const tgt = Array.from({ length: 24 }, () => (rand() < 0.3 ? 1 : 0));
  const g = tf.tidy(() => read(() => tf.grad((l: tf.Tensor) => sigmoidFocalLoss(l, tf.tensor1d(tgt), 3))(tf.tensor1d(x))));
  const fd = finiteDiff((v) => focal64(v, tgt, 3), x);
  t.true(closeness(g, fd, 1e-5, 2e-3) <= 1, `${Array.from(g).slice(0, 5)} vs ${Array.from(fd).slice(0, 5)}`);
});

// ---- box losses ----

test('L1 and GIoU box losses match float64 (normalised by numBoxes) and their gradients match finite differences', (t) => {
  const rand = rng(43);
  const src = Array.from(randomCxcywh(rand, 6));
  const tgt = Array.from(randomCxcywh(rand, 6));
  const before = tf.memory().numTensors;
  const l1 = read(() => l1BoxLoss(tf.tensor2d(src, [6, 4]), tf.tensor2d(tgt, [6, 4]), 5))[0];
  const gl = read(() => giouBoxLoss(tf.tensor2d(src, [6, 4]), tf.tensor2d(tgt, [6, 4]), 5))[0];
  t.true(Math.abs(l1 - l164(src, tgt, 5)) < 1e-5);
  t.true(Math.abs(gl - giouLoss64(src, tgt, 5)) < 1e-5, `${gl} vs ${giouLoss64(src, tgt, 5)}`);
  const gGiou = read(() => tf.grad((s: tf.Tensor) => giouBoxLoss(s as tf.Tensor2D, tf.tensor2d(tgt, [6, 4]), 5))(tf.tensor2d(src, [6, 4])));
  const gL1 = read(() => tf.grad((s: tf.Tensor) => l1BoxLoss(s as tf.Tensor2D, tf.tensor2d(tgt, [6, 4]), 5))(tf.tensor2d(src, [6, 4])));
  t.is(tf.memory().numTensors, before);
  t.true(closeness(gGiou, finiteDiff((v) => giouLoss64(v, tgt, 5), src), 2e-4, 2e-3) <= 1);
  t.true(closeness(gL1, finiteDiff((v) => l164(v, tgt, 5), src), 1e-4, 1e-3) <= 1);
  // Empty matching: zero, not NaN.
  t.is(read(() => giouBoxLoss(tf.zeros([0, 4]) as tf.Tensor2D, tf.zeros([0, 4]) as tf.Tensor2D, 1))[0], 0);
});

// ---- gatherRows ----

test('gatherRows selects rows and scatters gradients back (repeats add up)', (t) => {
  const x = [1, 2, 3, 4, 5, 6, 7, 8]; // [4,2]
  t.deepEqual(Array.from(read(() => gatherRows(tf.tensor2d(x, [4, 2]), [2, 0, 2]))), [5, 6, 1, 2, 5, 6]);
  const g = read(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(gatherRows(v as tf.Tensor2D, [2, 0, 2]), tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]))))(tf.tensor2d(x, [4, 2])));
  t.deepEqual(Array.from(g), [3, 4, 0, 0, 1 + 5, 2 + 6, 0, 0]);
  t.deepEqual(read(() => gatherRows(tf.tensor2d(x, [4, 2]), [])).length, 0);
  t.true(isDetkitError(t.throws(() => tf.tidy(() => gatherRows(tf.tensor2d(x, [4, 2]), [4]))), 'INVALID_ARGUMENT'));
});

// ---- SetCriterion ----

function criterionFixture(seed: number) {
  const rand = rng(seed);
  const b = 2, q = 6, c = 4;
  const logits = Array.from({ length: 2 }, () => Array.from({ length: b * q * c }, () => rand() * 4 - 2));
  const boxes = Array.from({ length: 2 }, () => Array.from(Float32Array.from(randomCxcywh(rand, b * q))));
  const targets = [
    { boxes: Float32Array.from(randomCxcywh(rand, 3)), labels: Int32Array.from([1, 3, 1]) },
    { boxes: Float32Array.from(randomCxcywh(rand, 2)), labels: Int32Array.from([0, 2]) },
  ];
  return { b, q, c, logits, boxes, targets };
}

/** Float64 reference of one layer's three unweighted terms for a given matching. */
function layerRef(logits: number[], boxes: number[], fx: ReturnType<typeof criterionFixture>, idx: MatchIndices[], numBoxes: number) {
  const { q, c, targets } = fx;
  const onehot = new Float64Array(logits.length);
  const src: number[] = [], tgt: number[] = [];
  idx.forEach((m, i) => {
    for (let k = 0; k < m.queryIdx.length; k++) {
      onehot[(i * q + m.queryIdx[k]) * c + targets[i].labels[m.targetIdx[k]]] = 1;
      for (let d = 0; d < 4; d++) {
        src.push(boxes[(i * q + m.queryIdx[k]) * 4 + d]);
        tgt.push(targets[i].boxes[4 * m.targetIdx[k] + d]);
      }
    }
  });
  return { ce: focal64(logits, onehot, numBoxes), bbox: l164(src, tgt, numBoxes), giou: giouLoss64(src, tgt, numBoxes) };
}

test('SetCriterion: per-layer matching, suffixed names, weights, values vs float64, no leaks', (t) => {
  const fx = criterionFixture(46);
  const { b, q, c, targets } = fx;
  const matcher = new HungarianMatcher();
  const criterion = new SetCriterion({ matcher, weights: { loss_ce: 2, loss_bbox: 5, loss_giou: 3 } });
  const before = tf.memory().numTensors;
  const { values, indices, numBoxes } = scoped(() => {
    const layers = [0, 1].map((l) => ({ logits: tf.tensor3d(fx.logits[l], [b, q, c]), boxes: tf.tensor3d(fx.boxes[l], [b, q, 4]) }));
    const r = criterion.compute(layers, targets);
    return { values: Object.fromEntries(Object.entries(r.losses).map(([k, v]) => [k, v.dataSync()[0]])), indices: r.indices, numBoxes: r.numBoxes };
  });
  t.is(tf.memory().numTensors, before);
  t.is(numBoxes, 5);
  t.deepEqual(Object.keys(values).sort(), ['loss_bbox', 'loss_bbox_0', 'loss_ce', 'loss_ce_0', 'loss_giou', 'loss_giou_0']);
  for (const [l, suffix] of [[0, '_0'], [1, '']] as const) {
    t.deepEqual(indices[l].map((m) => m.queryIdx.length), [3, 2]);
    // Matching is the matcher's own for that layer.
    const own = matcher.matchArrays(fx.logits[l], fx.boxes[l], [b, q, c], targets);
    t.deepEqual(indices[l].map((m) => Array.from(m.queryIdx)), own.map((m) => Array.from(m.queryIdx)));
    const ref = layerRef(fx.logits[l], fx.boxes[l], fx, indices[l], 5);
    t.true(Math.abs(values[`loss_ce${suffix}`] - 2 * ref.ce) < 1e-5, `ce${suffix}`);
    t.true(Math.abs(values[`loss_bbox${suffix}`] - 5 * ref.bbox) < 1e-5, `bbox${suffix}`);
    t.true(Math.abs(values[`loss_giou${suffix}`] - 3 * ref.giou) < 1e-5, `giou${suffix}`);
  }
  // A zero weight drops the term.
  const noGiou = new SetCriterion({ matcher, weights: { loss_giou: 0 } });
  const keys = tf.tidy(() => Object.keys(noGiou.compute([{ logits: tf.tensor3d(fx.logits[1], [b, q, c]), boxes: tf.tensor3d(fx.boxes[1], [b, q, 4]) }], targets).losses));
  t.deepEqual(keys.sort(), ['loss_bbox', 'loss_ce']);
  t.is(tf.memory().numTensors, before);
});

test('SetCriterion gradients w.r.t. logits and boxes match finite differences at a fixed matching', (t) => {
  const fx = criterionFixture(47);
  const { b, q, c, targets } = fx;
  const matcher = new HungarianMatcher();
  const criterion = new SetCriterion({ matcher });
  const before = tf.memory().numTensors;
  const [lv, bv] = tf.tidy(() => [tf.variable(tf.tensor3d(fx.logits[1], [b, q, c])), tf.variable(tf.tensor3d(fx.boxes[1], [b, q, 4]))]);
  let idx: MatchIndices[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const r = criterion.compute([{ logits: lv as tf.Tensor3D, boxes: bv as tf.Tensor3D }], targets);
    idx = r.indices[0];
    return tf.addN(Object.values(r.losses)) as tf.Scalar;
  }, [lv, bv]);
  const gl = grads[lv.name].dataSync().slice();
  const gb = grads[bv.name].dataSync().slice();
  const total = (lg: ArrayLike<number>, bx: ArrayLike<number>) => {
    const r = layerRef(Array.from(lg), Array.from(bx), fx, idx, 5);
    return r.ce + 5 * r.bbox + 2 * r.giou;
  };
  t.true(Math.abs(value.dataSync()[0] - total(fx.logits[1], fx.boxes[1])) < 1e-4);
  t.true(closeness(gl, finiteDiff((v) => total(v, fx.boxes[1]), fx.logits[1]), 1e-5, 2e-3) <= 1, 'd logits');
  t.true(closeness(gb, finiteDiff((v) => total(fx.logits[1], v), fx.boxes[1]), 2e-4, 2e-3) <= 1, 'd boxes');
  // Unmatched queries get no box gradient.
  const matched = new Set(idx.flatMap((m, i) => Array.from(m.queryIdx, (qi) => i * q + qi)));
  for (let r = 0; r < b * q; r++) if (!matched.has(r)) t.true([0, 1, 2, 3].every((d) => gb[r * 4 + d] === 0));
  tf.dispose([value, lv, bv, ...Object.values(grads)]);
  t.is(tf.memory().numTensors, before);
});

test('SetCriterion with no targets in the batch: background-only focal loss, zero box losses', (t) => {
  const criterion = new SetCriterion({ matcher: new HungarianMatcher() });
  const empty = { boxes: new Float32Array(0), labels: new Int32Array(0) };
  const logits = [-1, 0.5, 2, -3];
  const v = tf.tidy(() => {
    const r = criterion.compute([{ logits: tf.tensor3d(logits, [1, 2, 2]), boxes: tf.tensor3d([0.5, 0.5, 0.2, 0.2, 0.3, 0.3, 0.1, 0.1], [1, 2, 4]) }], [empty]);
    return Object.fromEntries(Object.entries(r.losses).map(([k, x]) => [k, x.dataSync()[0]]));
  });
  t.true(Math.abs(v.loss_ce - focal64(logits, [0, 0, 0, 0], 1)) < 1e-6);
  t.is(v.loss_bbox, 0);
  t.is(v.loss_giou, 0);
});
