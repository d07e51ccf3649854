// Faster R-CNN's host-side parts against independent computations: box coder round trip,
// anchors against a hand-worked example, IoU matching, balanced sampling on a hand-made case.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs'; // cpu backend + gradients
import { BoxCoder } from '../src/faster-rcnn/box-coder.js';
import { baseAnchors, levelAnchors } from '../src/faster-rcnn/anchors.js';
import { pairwiseIou } from '../src/faster-rcnn/iou.js';
import { BELOW_LOW, BETWEEN, matchByIou } from '../src/faster-rcnn/matcher.js';
import { sampleBalanced } from '../src/faster-rcnn/sampler.js';
import { sampleTargets } from '../src/faster-rcnn/targets.js';
import { rng } from './box-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

function randomBoxes(n: number, r: () => number): Float64Array {
  const out = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    const x = 100 * r(), y = 100 * r();
    out.set([x, y, x + 1 + 60 * r(), y + 1 + 60 * r()], 4 * i);
  }
  return out;
}

test('box coder: encode then decode returns the boxes to 1e-6, both weightings', (t) => {
  const r = rng(1);
  const ref = randomBoxes(50, r);
  const gt = randomBoxes(50, r);
  for (const w of [[1, 1, 1, 1], [10, 10, 5, 5]] as const) {
    const coder = new BoxCoder(w);
    const back = coder.decode(ref, coder.encode(ref, gt));
    let worst = 0;
    for (let i = 0; i < gt.length; i++) worst = Math.max(worst, Math.abs(back[i]! - gt[i]!));
    t.true(worst < 1e-6, `weights ${w}: ${worst}`);
  }
});

test('box coder: a hand-worked delta (weights 10, 10, 5, 5)', (t) => {
  // ref centre (15, 20), size 10 x 20; gt centre (20, 20), size 20 x 20.
  const d = new BoxCoder([10, 10, 5, 5]).encode([10, 10, 20, 30], [10, 10, 30, 30]);
  const want = [10 * (5 / 10), 0, 5 * Math.log(2), 0];
  want.forEach((v, i) => t.true(Math.abs(d[i]! - v) < 1e-12, `${i}: ${d[i]} vs ${v}`));
});

test('box coder: the tensor decode equals the host decode, several boxes per reference', (t) => {
  const r = rng(2);
  const ref = randomBoxes(6, r);
  const deltas = Float64Array.from({ length: 6 * 3 * 4 }, () => 2 * r() - 1);
  const coder = new BoxCoder([10, 10, 5, 5]);
  const host = coder.decode(ref, deltas);
  const refCxcywh = new Float32Array(24);
  for (let i = 0; i < 6; i++) {
    const [x0, y0, x1, y1] = [ref[4 * i]!, ref[4 * i + 1]!, ref[4 * i + 2]!, ref[4 * i + 3]!];
    refCxcywh.set([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], 4 * i);
  }
  const out = tf.tidy(() => coder.decodeTensor(tf.tensor2d(refCxcywh, [6, 4]), tf.tensor3d(Float32Array.from(deltas), [6, 3, 4])));
  const v = out.dataSync();
  out.dispose();
  for (let k = 0; k < 18; k++) {
    const [x0, y0, x1, y1] = [host[4 * k]!, host[4 * k + 1]!, host[4 * k + 2]!, host[4 * k + 3]!];
    const want = [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0];
    want.forEach((w, c) => t.true(Math.abs(v[4 * k + c]! - w) < 1e-3, `box ${k} coord ${c}: ${v[4 * k + c]} vs ${w}`));
  }
});

test('box coder: huge size deltas are clipped at log(1000/16), not overflowed', (t) => {
  const out = new BoxCoder([1, 1, 1, 1]).decode([0, 0, 10, 10], [0, 0, 100, 100]);
  t.true(out.every(Number.isFinite));
  t.true(Math.abs(out[2]! - out[0]! - 10 * (1000 / 16)) < 1e-9);
});

test('anchors: the hand-worked example (size 32, ratios 0.5/1/2, stride 16, a 1x2 grid)', (t) => {
  // h = 32 sqrt(r), w = 32 / sqrt(r), halves rounded: r=0.5 -> w/2 = 22.63 -> 23, h/2 = 11.31 -> 11.
  t.deepEqual(Array.from(baseAnchors([32], [0.5, 1, 2])), [-23, -11, 23, 11, -16, -16, 16, 16, -11, -23, 11, 23]);
  t.deepEqual(Array.from(levelAnchors(1, 2, { sizes: [32], aspectRatios: [0.5, 1, 2], stride: 16 })), [
    -23, -11, 23, 11, -16, -16, 16, 16, -11, -23, 11, 23, // cell (0, 0)
    -7, -11, 39, 11, 0, -16, 32, 16, 5, -23, 27, 23, //       cell (0, 1): x + 16
  ]);
  // Rows before columns, ratios before sizes; 2.5 rounds half to even (torch.round) -> 2.
  const two = levelAnchors(2, 1, { sizes: [5, 8], aspectRatios: [1], stride: 4 });
  t.deepEqual(Array.from(two), [-2, -2, 2, 2, -4, -4, 4, 4, -2, 2, 2, 6, -4, 0, 4, 8]);
});

test('IoU matrix: hand-worked values', (t) => {
  const iou = pairwiseIou([0, 0, 10, 10, 5, 5, 15, 15], [0, 0, 10, 10, 0, 0, 10, 20, 20, 20, 30, 30]);
  const want = [1, 0.5, 0, 25 / 175, 50 / 250, 0]; // [5,5,15,15] vs [0,0,10,20]: 5 x 10 inside, union 100 + 200 - 50
  want.forEach((w, i) => t.true(Math.abs(iou[i]! - w) < 1e-12, `${i}: ${iou[i]} vs ${w}`));
});

// The hand-made RPN case: gt 0 = [0,0,10,10], gt 1 = [50,50,60,60].
const GT = [0, 0, 10, 10, 50, 50, 60, 60];
const ANCHORS = [
  0, 0, 10, 10, //   IoU 1 with gt 0: positive
  0, 0, 10, 12, //   100/120 = 0.83: positive
  0, 0, 10, 15, //   100/150 = 0.67: between 0.3 and 0.7, ignored
  0, 0, 10, 40, //   0.25: negative
  20, 20, 30, 30, // 0: negative
  5, 5, 15, 15, //   25/175 = 0.14: negative
  50, 50, 60, 70, // 0.5 with gt 1, its best anchor: positive through the low-quality rule
];

test('matcher: thresholds 0.7 / 0.3 and the low-quality rule on the hand-made case', (t) => {
  const iou = pairwiseIou(ANCHORS, GT);
  t.deepEqual(Array.from(matchByIou(iou, 7, 2, { high: 0.7, low: 0.3, allowLowQuality: true })), [0, 0, BETWEEN, BELOW_LOW, BELOW_LOW, BELOW_LOW, 1]);
  t.deepEqual(Array.from(matchByIou(iou, 7, 2, { high: 0.7, low: 0.3, allowLowQuality: false })), [0, 0, BETWEEN, BELOW_LOW, BELOW_LOW, BELOW_LOW, BETWEEN]);
  t.deepEqual(Array.from(matchByIou(iou, 7, 0, { high: 0.7, low: 0.3, allowLowQuality: true })), new Array(7).fill(BELOW_LOW));
});

test('RPN sampling: counts and labels on the hand-made case', (t) => {
  const coder = new BoxCoder([1, 1, 1, 1]);
  const o = { high: 0.7, low: 0.3, allowLowQuality: true, positiveFraction: 0.5 };
  for (let seed = 0; seed < 20; seed++) {
    // batch 4: at most 2 positives of {0, 1, 6}, then 2 negatives of {3, 4, 5}; anchor 2 never.
    const s = sampleTargets(ANCHORS, GT, { ...o, batchSize: 4 }, coder, rng(seed));
    t.is(s.numPositive, 2);
    t.is(s.numNegative, 2);
    const pos = [...s.labels.keys()].filter((i) => s.labels[i] === 1);
    const neg = [...s.labels.keys()].filter((i) => s.labels[i] === 0);
    t.true(pos.every((i) => [0, 1, 6].includes(i)) && neg.every((i) => [3, 4, 5].includes(i)), `seed ${seed}: ${pos} / ${neg}`);
    t.is(s.labels[2], -1);
    for (const i of pos) t.is(s.gtIndex[i], i === 6 ? 1 : 0);
  }
  // batch 8: every positive (3) and every negative (3; fewer than the 5 slots left).
  const all = sampleTargets(ANCHORS, GT, { ...o, batchSize: 8 }, coder, rng(0));
  t.deepEqual(Array.from(all.labels), [1, 1, -1, 0, 0, 0, 1]);
  // Regression targets: anchor 6 [50,50,60,70] -> gt [50,50,60,60]: dy = (55 - 60) / 20, dh = log(10 / 20).
  const d6 = Array.from(all.regression.subarray(24, 28));
  [0, -0.25, 0, Math.log(0.5)].forEach((w, c) => t.true(Math.abs(d6[c]! - w) < 1e-12, `coord ${c}: ${d6[c]}`));
  t.deepEqual(Array.from(all.regression.subarray(12, 16)), [0, 0, 0, 0]); // a negative has none
  // No ground truth: only negatives.
  const none = sampleTargets(ANCHORS, [], { ...o, batchSize: 4 }, coder, rng(0));
  t.is(none.numPositive, 0);
  t.is(none.numNegative, 4);
});

test('balanced sampler: draws uniformly (each negative about equally often)', (t) => {
  const matches = [0, ...new Array(9).fill(BELOW_LOW)];
  const counts = new Array(10).fill(0);
  const r = rng(3);
  for (let k = 0; k < 3000; k++) for (const i of sampleBalanced(matches, 4, 0.5, r).negative) counts[i]++;
  t.is(counts[0], 0);
  // 3 of 9 negatives per draw: 1000 each expected.
  for (let i = 1; i < 10; i++) t.true(Math.abs(counts[i] - 1000) < 120, `negative ${i}: ${counts[i]}`);
});
