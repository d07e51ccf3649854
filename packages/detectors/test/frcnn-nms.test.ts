// NMS against two independent references: a brute force over every subset (the kept set is
// the unique set where a box is kept iff no kept, higher-scoring box overlaps it above the
// threshold), and tfjs's own tf.image.nonMaxSuppression.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { pairwiseIou } from '../src/faster-rcnn/iou.js';
import { batchedNms, nms } from '../src/faster-rcnn/nms.js';
import { rng } from './box-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

/** Clustered boxes so that many overlap near the threshold. */
function clustered(n: number, r: () => number): Float64Array {
  const out = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    const cx = 20 * Math.floor(3 * r()) + 6 * r(), cy = 6 * r();
    const w = 8 + 8 * r(), h = 8 + 8 * r();
    out.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 4 * i);
  }
  return out;
}

function bruteForceNms(boxes: Float64Array, scores: number[], thr: number): number[] {
  const n = scores.length;
  const iou = pairwiseIou(boxes, boxes);
  const before = (j: number, i: number) => scores[j]! > scores[i]! || (scores[j] === scores[i] && j < i);
  const solutions: number[][] = [];
  for (let mask = 0; mask < 1 << n; mask++) {
    const inSet = (i: number) => (mask >> i) & 1;
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      const blocked = [...Array(n).keys()].some((j) => j !== i && inSet(j) && before(j, i) && iou[i * n + j]! > thr);
      ok = Boolean(inSet(i)) === !blocked;
    }
    if (ok) solutions.push([...Array(n).keys()].filter(inSet));
  }
  if (solutions.length !== 1) throw new Error(`${solutions.length} fixed points`);
  return solutions[0]!.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

test('nms equals the brute-force fixed point on 200 random clustered cases', (t) => {
  const r = rng(7);
  for (let k = 0; k < 200; k++) {
    const n = 2 + Math.floor(8 * r());
    const boxes = clustered(n, r);
    // Some tied scores: ties go to the lower index, in both.
    const scores = Array.from({ length: n }, () => Math.round(10 * r()) / 10);
    const thr = [0.3, 0.5, 0.7][k % 3]!;
    t.deepEqual(Array.from(nms(boxes, scores, thr)), bruteForceNms(boxes, scores, thr), `case ${k}`);
  }
});

test('nms equals tf.image.nonMaxSuppression (distinct scores)', async (t) => {
  const r = rng(8);
  for (let k = 0; k < 50; k++) {
    const n = 5 + Math.floor(40 * r());
    const boxes = clustered(n, r);
    const scores = Array.from({ length: n }, () => r());
    const yx = new Float32Array(4 * n);
    for (let i = 0; i < n; i++) yx.set([boxes[4 * i + 1]!, boxes[4 * i]!, boxes[4 * i + 3]!, boxes[4 * i + 2]!], 4 * i);
    const ref = tf.image.nonMaxSuppression(tf.tensor2d(yx, [n, 4]), tf.tensor1d(scores), n, 0.5);
    t.deepEqual(Array.from(nms(boxes, scores, 0.5)), Array.from(await ref.data()));
    ref.dispose();
  }
});

test('batchedNms: boxes of different groups never suppress each other', (t) => {
  const boxes = [0, 0, 10, 10, 0, 0, 10, 10, 1, 1, 11, 11];
  t.deepEqual(Array.from(batchedNms(boxes, [0.9, 0.8, 0.7], [0, 1, 0], 0.5)), [0, 1]);
  t.deepEqual(Array.from(batchedNms(boxes, [0.9, 0.8, 0.7], [0, 1, 2], 0.5)), [0, 1, 2]);
  t.deepEqual(Array.from(batchedNms(boxes, [0.9, 0.8, 0.7], [0, 0, 0], 0.5)), [0]);
});
