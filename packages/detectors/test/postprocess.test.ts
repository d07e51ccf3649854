import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { postProcess } from '../src/detectors.js';
import { rng } from './box-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

test('postProcess equals a brute-force sort over queries x classes, boxes scaled to the original size', async (t) => {
  const r = rng(9);
  const [B, Q, C, K] = [3, 7, 4, 10];
  const logits = Float32Array.from({ length: B * Q * C }, () => (r() * 2 - 1) * 4);
  const boxes = Float32Array.from({ length: B * Q * 4 }, () => 0.1 + 0.5 * r());
  const targets = [0, 1, 2].map((i) => ({ imageId: 100 + i, origWidth: 50 + 10 * i, origHeight: 40 + 5 * i }));
  const lt = tf.tensor3d(logits, [B, Q, C]);
  const bt = tf.tensor3d(boxes, [B, Q, 4]);
  const before = tf.memory().numTensors;
  const dets = await postProcess(lt, bt, targets, { topK: K });
  t.is(tf.memory().numTensors, before);
  for (let b = 0; b < B; b++) {
    const all: Array<{ score: number; q: number; c: number }> = [];
    for (let q = 0; q < Q; q++) for (let c = 0; c < C; c++) all.push({ score: 1 / (1 + Math.exp(-logits[(b * Q + q) * C + c]!)), q, c });
    all.sort((x, y) => y.score - x.score);
    const want = all.slice(0, K);
    t.is(dets[b]!.length, K);
    dets[b]!.forEach((d, k) => {
      const w = want[k]!;
      t.is(d.label, w.c);
      t.is(d.imageId, 100 + b);
      t.true(Math.abs(d.score - w.score) < 1e-6);
      const o = (b * Q + w.q) * 4;
      const [cx, cy, bw, bh] = [boxes[o]!, boxes[o + 1]!, boxes[o + 2]!, boxes[o + 3]!];
      const W = targets[b]!.origWidth, H = targets[b]!.origHeight;
      const exp = [(cx - bw / 2) * W, (cy - bh / 2) * H, (cx + bw / 2) * W, (cy + bh / 2) * H];
      exp.forEach((v, i) => t.true(Math.abs(v - d.box[i]!) < 1e-4));
    });
  }
  const thr = await postProcess(lt, bt, targets, { topK: 1000, scoreThreshold: 0.5 });
  t.is(thr[0]!.length, Array.from(logits.subarray(0, Q * C)).filter((x) => x >= 0).length);
  lt.dispose();
  bt.dispose();
});
