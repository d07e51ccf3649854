import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { isDetkitError, registerTfjsGradients } from '@detkit/core';
import { Detr, SmallCnn, isQueryGroupDetector } from '../src/detectors.js';
import { disposeBatch, tinyBatch } from './detr-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await registerTfjsGradients();
});

function detr(): Detr {
  return new Detr({ numClasses: 3, backbone: new SmallCnn({ channels: [8, 16], seed: 1 }), hiddenDim: 16, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 2, dimFeedforward: 32, numQueries: 5, seed: 2 });
}

test('detr: reference names, aux losses per layer, gradients reach the query embeddings, no query groups', (t) => {
  const m = detr();
  const names = new Set(m.namedParameters().map(([n]) => n));
  for (const n of ['query_embed.weight', 'transformer.decoder.layers.1.multihead_attn.in_proj_weight', 'transformer.decoder.norm.bias', 'class_embed.bias']) t.true(names.has(n), n);
  t.false(isQueryGroupDetector(m));
  const batch = tinyBatch();
  tf.tidy(() => {
    const { grads, value } = tf.variableGrads(() => {
      const r = m.forwardTrain(batch);
      t.deepEqual(Object.keys(r.losses).sort(), ['loss_bbox', 'loss_bbox_0', 'loss_ce', 'loss_ce_0', 'loss_giou', 'loss_giou_0']);
      return tf.addN(Object.values(r.losses)) as tf.Scalar;
    }, m.trainableParameters().map(([, v]) => v));
    t.true(Number.isFinite(value.dataSync()[0]!));
    t.true(tf.sum(tf.abs(grads[m.queryEmbed.weight.name]!)).dataSync()[0]! > 0);
    const enc = m.encode(batch.images, batch.masks);
    const e = t.throws(() => m.decode(enc, [{ anchors: tf.zeros([2, 4]) as tf.Tensor2D }]));
    t.true(isDetkitError(e, 'NOT_IMPLEMENTED'));
  });
  disposeBatch(batch);
  m.dispose();
});
