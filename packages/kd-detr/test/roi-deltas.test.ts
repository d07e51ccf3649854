// roiDeltas (heterogeneous KD's box space) against a hand-worked example and against the
// Faster R-CNN's own host-side box coder (float64, xyxy), which it must agree with.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { BoxCoder } from '@detkit/detectors';
import { isDetkitError } from '@detkit/core';
import { roiDeltas, ROI_DELTA_WEIGHTS } from '../src/kd-detr.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

const deltas = (boxes: number[][], refs: number[][]) => tf.tidy(() => roiDeltas(tf.tensor3d([boxes]), tf.tensor3d([refs])).arraySync()[0]!);

test('a hand-worked box: 10 dx / pw, 10 dy / ph, 5 log(w / pw), 5 log(h / ph)', (t) => {
  const [d] = deltas([[0.52, 0.46, 0.3, 0.2]], [[0.5, 0.5, 0.2, 0.4]]);
  const want = [1, -1, 5 * Math.log(1.5), 5 * Math.log(0.5)];
  d!.forEach((v, i) => t.true(Math.abs(v - want[i]!) < 1e-5, `${i}: ${v} vs ${want[i]}`));
});

test("agrees with the Faster R-CNN box head's coder (weights 10, 10, 5, 5) on random boxes", (t) => {
  let s = 7;
  const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const box = () => [0.2 + 0.6 * rnd(), 0.2 + 0.6 * rnd(), 0.05 + 0.4 * rnd(), 0.05 + 0.4 * rnd()];
  const boxes = Array.from({ length: 32 }, box);
  const refs = Array.from({ length: 32 }, box);
  const xyxy = (b: number[]) => [b[0]! - b[2]! / 2, b[1]! - b[3]! / 2, b[0]! + b[2]! / 2, b[1]! + b[3]! / 2];
  const want = new BoxCoder(ROI_DELTA_WEIGHTS).encode(refs.flatMap(xyxy), boxes.flatMap(xyxy));
  deltas(boxes, refs).flat().forEach((v, i) => t.true(Math.abs(v - want[i]!) < 1e-4 * Math.max(1, Math.abs(want[i]!)), `${i}: ${v} vs ${want[i]}`));
});

test('a degenerate box gives finite deltas and gradients; mismatched shapes are an error', (t) => {
  const [d] = deltas([[0.5, 0.5, 0, 0.1]], [[0.5, 0.5, 0.2, 0]]);
  t.true(d!.every(Number.isFinite), String(d));
  const g = tf.tidy(() => tf.grad((b: tf.Tensor) => tf.sum(roiDeltas(b as tf.Tensor3D, tf.tensor3d([[[0.5, 0.5, 0.2, 0.2]]]))))(tf.tensor3d([[[0.5, 0.5, 0.1, 0.3]]])).arraySync() as number[][][]);
  t.deepEqual(g.flat(2).map((v) => +v.toFixed(4)), [50, 50, 50, +(5 / 0.3).toFixed(4)]);
  const e = t.throws(() => roiDeltas(tf.zeros([1, 2, 4]) as tf.Tensor3D, tf.zeros([1, 3, 4]) as tf.Tensor3D));
  t.true(isDetkitError(e) && e.code === 'INVALID_ARGUMENT');
});
