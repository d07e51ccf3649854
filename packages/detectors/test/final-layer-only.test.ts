import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTfjsGradients } from '@detkit/core';
import type { QueryGroup } from '../src/detectors.js';
import { maxAbsDiff } from '@detkit/core/testing';
import { disposeBatch, tinyBatch, tinyDabDetr } from './detr-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await registerTfjsGradients();
});

test('dab-detr decode with finalLayerOnly returns exactly the last layer of a full decode, for detection and groups', (t) => {
  const m = tinyDabDetr();
  m.eval();
  const batch = tinyBatch();
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const g: QueryGroup = { anchors: tf.randomNormal([5, 4], 0, 1, 'float32', 7) as tf.Tensor2D };
    const enc = m.encode(batch.images, batch.masks);
    const full = m.decode(enc, [g]);
    const last = m.decode(enc, [g], { finalLayerOnly: true });
    t.true(full.detection.logits.length > 1);
    for (const [a, b] of [[full.detection, last.detection], [full.groups[0]!, last.groups[0]!]] as const) {
      t.is(b.logits.length, 1);
      t.is(b.boxes.length, 1);
      t.deepEqual(b.logits[0]!.shape, a.logits.at(-1)!.shape);
      t.is(maxAbsDiff(b.logits[0]!.dataSync(), a.logits.at(-1)!.dataSync()), 0);
      t.is(maxAbsDiff(b.boxes[0]!.dataSync(), a.boxes.at(-1)!.dataSync()), 0);
    }
  });
  t.is(tf.memory().numTensors, before);
  disposeBatch(batch);
  m.dispose();
});
