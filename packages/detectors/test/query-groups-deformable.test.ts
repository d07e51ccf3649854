// The query-group contract (README, test/query-groups.test.ts for DAB-DETR) for deformable-detr.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTfjsGradients } from '@detkit/core';
import { isQueryGroupDetector, type DecodeOutput, type DeformableEncoded, type QueryGroup } from '../src/detectors.js';
import { disposeBatch, maxAbsDiff, tinyBatch, tinyDeformableDetr } from './detr-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await registerTfjsGradients();
});

const read = (o: DecodeOutput) => [...o.logits, ...o.boxes].map((t) => Array.from(t.dataSync()));
const diff = (a: number[][], b: number[][]) => Math.max(...a.map((x, i) => maxAbsDiff(x, b[i]!)));

function groups(): { A: QueryGroup; B: QueryGroup } {
  return {
    A: { anchors: tf.randomNormal([5, 4], 0, 1, 'float32', 7) as tf.Tensor2D },
    B: { anchors: tf.randomNormal([4, 4], 0, 1, 'float32', 8) as tf.Tensor2D, content: tf.randomNormal([4, 16], 0, 1, 'float32', 9) as tf.Tensor2D },
  };
}

test('deformable-detr implements the query-group contract', (t) => {
  const m = tinyDeformableDetr();
  t.true(isQueryGroupDetector(m));
  t.deepEqual(m.detectionQueries().anchors.shape, [6, 4]);
  t.is(m.boxFormat, 'cxcywh-normalized');
  m.dispose();
});

test('extra groups leave detection outputs unchanged (1e-5), a group does not depend on the others; without blocks they would', (t) => {
  const m = tinyDeformableDetr();
  m.eval();
  const batch = tinyBatch();
  tf.tidy(() => {
    const { A, B } = groups();
    const enc = m.encode(batch.images, batch.masks);
    const alone = m.decode(enc, []);
    const withAB = m.decode(enc, [A, B]);
    const onlyA = m.decode(enc, [A], { detection: false });
    const withB = m.decode(enc, [B, A]);
    t.is(alone.detection.logits.length, 2);
    t.deepEqual(withAB.groups[0]!.logits[1]!.shape, [2, 5, 3]);
    t.deepEqual(withAB.groups[1]!.boxes[0]!.shape, [2, 4, 4]);
    t.true(diff(read(alone.detection), read(withAB.detection)) < 1e-5, 'detection changed by extra groups');
    t.true(diff(read(withAB.groups[0]!), read(onlyA.groups[0]!)) < 1e-5, 'group A depends on detection queries / B');
    t.true(diff(read(withAB.groups[0]!), read(withB.groups[1]!)) < 1e-5, 'group A depends on group order');
    // The test can fail: the same joint pass without self-attention blocks changes the detection queries.
    const b = 2;
    const tile = (x: tf.Tensor) => tf.tile(tf.expandDims(x, 0), [b, 1, 1]) as tf.Tensor3D;
    const e = enc as DeformableEncoded;
    const memory = { memory: e.memory, shapes: e.shapes, validRatios: e.validRatios, keepMask: e.mask };
    const anchors = tile(tf.sigmoid(tf.concat([m.detectionQueries().anchors, B.anchors], 0)));
    const content = tile(tf.concat([tf.zeros([6, 16]), B.content!], 0));
    const unmasked = m.transformer.decoder.forward(content, anchors, memory, m.bboxEmbed);
    const leaked = tf.slice(unmasked.hs[1]!, [0, 0, 0], [b, 6, 16]);
    const clean = m.transformer.decoder.forward(tf.zeros([b, 6, 16]) as tf.Tensor3D, tile(tf.sigmoid(m.detectionQueries().anchors)), memory, m.bboxEmbed);
    const leak = maxAbsDiff(leaked.dataSync(), clean.hs[1]!.dataSync());
    t.true(leak > 1e-3, `unblocked joint decoding should differ (max diff ${leak})`);
  });
  disposeBatch(batch);
  m.dispose();
});

test('a group with the detection anchors reproduces the detection outputs (isolation is exact)', (t) => {
  const m = tinyDeformableDetr();
  m.eval();
  const batch = tinyBatch();
  tf.tidy(() => {
    const enc = m.encode(batch.images, batch.masks);
    const copy: QueryGroup = { anchors: tf.clone(m.detectionQueries().anchors) as tf.Tensor2D };
    const r = m.decode(enc, [copy]);
    t.true(diff(read(r.detection), read(r.groups[0]!)) < 1e-5);
    // finalLayerOnly returns the same last layer.
    const last = m.decode(enc, [copy], { detection: false, finalLayerOnly: true }).groups[0]!;
    t.is(last.logits.length, 1);
    t.true(maxAbsDiff(last.boxes[0]!.dataSync(), r.groups[0]!.boxes[1]!.dataSync()) < 1e-6);
  });
  disposeBatch(batch);
  m.dispose();
});

test('gradients flow from group outputs into the encoder and decoder; extra groups add nothing to L_det', (t) => {
  const m = tinyDeformableDetr();
  const batch = tinyBatch();
  const names = new Map(m.trainableParameters().map(([n, v]) => [v.name, n]));
  tf.tidy(() => {
    const { A } = groups();
    const { grads } = tf.variableGrads(() => {
      const enc = m.encode(batch.images, batch.masks);
      const g = m.decode(enc, [A], { detection: false }).groups[0]!;
      return tf.add(tf.sum(g.logits[1]!), tf.sum(g.boxes[1]!)) as tf.Scalar;
    }, m.trainableParameters().map(([, v]) => v));
    const got = new Set(Object.keys(grads).map((k) => names.get(k)));
    for (const n of [
      'class_embed.1.weight', 'bbox_embed.1.layers.0.weight',
      'transformer.decoder.layers.1.cross_attn.sampling_offsets.weight', 'transformer.decoder.layers.0.cross_attn.value_proj.weight',
      'transformer.encoder.layers.0.self_attn.attention_weights.weight', 'transformer.level_embed', 'input_proj.1.0.weight', 'input_proj.0.1.weight', 'backbone.convs.0.weight',
    ]) t.true(got.has(n), `no gradient for ${n}`);
    // Layer 0's box head reaches layer 1 only through the detached reference box: no gradient.
    t.false(got.has('bbox_embed.0.layers.0.weight'), 'references are not detached between layers');
    const nonzero = tf.sum(tf.abs(grads[m.inputProj[0]!.conv.weight.name]!)).dataSync()[0]!;
    t.true(nonzero > 0);
    const ref = grads[m.refpointEmbed.weight.name];
    t.true(ref === undefined || tf.sum(tf.abs(ref)).dataSync()[0] === 0);
  });
  m.eval();
  const lossesOf = (gs: QueryGroup[]) =>
    tf.tidy(() => {
      const r = m.forwardTrain(batch, { groups: gs });
      t.is(r.outputs.groups.length, gs.length);
      return Object.fromEntries(Object.entries(r.losses).map(([k, v]) => [k, v.dataSync()[0]!]));
    });
  const plain = lossesOf([]);
  const extra = tf.tidy(() => lossesOf(Object.values(groups())));
  t.deepEqual(Object.keys(extra).sort(), Object.keys(plain).sort());
  for (const k of Object.keys(plain)) t.true(Math.abs(plain[k]! - extra[k]!) < 1e-5, `${k}: ${plain[k]} vs ${extra[k]}`);
  t.true('loss_ce_0' in plain && 'loss_giou' in plain);
  disposeBatch(batch);
  m.dispose();
});
