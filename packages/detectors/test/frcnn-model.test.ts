// The faster-rcnn detector end to end on a tiny model: parameter names, registry config
// checks, a few steps reduce the loss, no tensor growth over 20 iterations, predict in
// original pixels, and the RoI contract (shapes, gradient reaches the features).
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { createOptimizer, createRegistry, createServices, isDetkitError, selectBackend, silentLogger, type Batch } from '@detkit/core';
import { FasterRcnn, isRoiDistillable, registerDetectors, ResNet, type FasterRcnnOptions } from '../src/detectors.js';
import { disposeBatch, tinyBatch } from './detr-helpers.js';

test.before(async () => {
  await selectBackend({ backend: 'wasm', logger: silentLogger });
});

function tiny(over: Partial<FasterRcnnOptions> = {}): FasterRcnn {
  return new FasterRcnn({
    numClasses: 3,
    backbone: new ResNet({ depth: 18, baseWidth: 8, blocks: [1, 1], returnStages: [0, 1], seed: 1 }),
    fpnChannels: 16,
    anchorSizes: [[8], [16], [32]],
    rpn: { batchSizePerImage: 64, preNmsTopNTrain: 200, postNmsTopNTrain: 50, preNmsTopNTest: 200, postNmsTopNTest: 30 },
    roiHead: { batchSizePerImage: 32, representationSize: 32, outputSize: 4, canonicalScale: 16, canonicalLevel: 3 },
    seed: 7,
    ...over,
  });
}

function step(m: FasterRcnn, batch: Batch, opt: ReturnType<typeof createOptimizer>, lr: number): Record<string, number> {
  const params = m.trainableParameters();
  const byVar = new Map(params.map(([n, v]) => [v.name, n]));
  const terms: Record<string, number> = {};
  const { value, grads } = tf.variableGrads(() => {
    const { losses } = m.forwardTrain(batch);
    for (const [k, v] of Object.entries(losses)) terms[k] = v.dataSync()[0]!;
    return tf.addN(Object.values(losses)) as tf.Scalar;
  }, params.map(([, v]) => v));
  const named = new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k)!, g]));
  opt.step(named, lr);
  named.forEach((g) => g.dispose());
  terms.total = value.dataSync()[0]!;
  value.dispose();
  return terms;
}

test.serial('parameter names follow torchvision where they can', (t) => {
  const m = tiny();
  const names = new Set(m.namedParameters().map(([n]) => n));
  for (const n of ['backbone.conv1.weight', 'fpn.inner_blocks.0.weight', 'fpn.layer_blocks.1.bias', 'rpn_head.conv.weight', 'rpn_head.cls_logits.weight', 'rpn_head.bbox_pred.bias', 'roi_heads.fc6.weight', 'roi_heads.fc7.bias', 'roi_heads.cls_score.weight', 'roi_heads.bbox_pred.weight']) {
    t.true(names.has(n), n);
  }
  // C+1 logits (background last), 4 deltas per foreground class.
  t.deepEqual(m.namedParameters().find(([n]) => n === 'roi_heads.cls_score.weight')![1].shape, [4, 32]);
  t.deepEqual(m.namedParameters().find(([n]) => n === 'roi_heads.bbox_pred.weight')![1].shape, [12, 32]);
  t.true(isRoiDistillable(m));
  m.dispose();
});

test.serial('a few steps reduce the loss on a tiny batch; every term is finite', (t) => {
  const m = tiny();
  const batch = tinyBatch(2, 32, 1);
  const opt = createOptimizer({ type: 'adam', lr: 1e-3 }, m.trainableParameters());
  const first = step(m, batch, opt, 3e-3);
  t.deepEqual(Object.keys(first).sort(), ['loss_box_reg', 'loss_classifier', 'loss_objectness', 'loss_rpn_box_reg', 'total']);
  t.true(Object.values(first).every(Number.isFinite));
  // Untrained: objectness ~ log 2, classifier ~ log 4 (4 logits near 0).
  t.true(Math.abs(first.loss_objectness! - Math.log(2)) < 0.05, `objectness ${first.loss_objectness}`);
  t.true(Math.abs(first.loss_classifier! - Math.log(4)) < 0.05, `classifier ${first.loss_classifier}`);
  let last = first;
  for (let i = 0; i < 15; i++) last = step(m, batch, opt, 3e-3);
  t.true(last.total! < 0.6 * first.total!, `loss ${first.total} -> ${last.total}`);
  opt.dispose?.();
  disposeBatch(batch);
  m.dispose();
});

test.serial('no tensor growth over 20 iterations (forward, backward, optimiser step)', (t) => {
  const m = tiny();
  const batch = tinyBatch(2, 32, 2);
  const opt = createOptimizer({ type: 'adamw', lr: 1e-3 }, m.trainableParameters());
  step(m, batch, opt, 1e-3); // creates the optimiser's slots
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) step(m, batch, opt, 1e-3);
  t.is(tf.memory().numTensors, before);
  disposeBatch(batch);
  m.dispose();
});

test.serial('predict: detections in original-image pixels, no tensors left behind, mode restored', async (t) => {
  const m = tiny({ roiHead: { batchSizePerImage: 32, representationSize: 32, outputSize: 4, canonicalScale: 16, canonicalLevel: 3, scoreThreshold: 0 } });
  const batch = tinyBatch(2, 32, 3); // original images are 64 x 96 (2x, 3x the input)
  const before = tf.memory().numTensors;
  const dets = await m.predict(batch);
  t.is(tf.memory().numTensors, before);
  t.true(m.training);
  t.is(dets.length, 2);
  t.true(dets[0]!.length > 0 && dets[0]!.length <= 100);
  for (const [i, per] of dets.entries()) {
    for (const d of per) {
      t.is(d.imageId, i);
      t.true(d.label >= 0 && d.label < 3 && d.score > 0 && d.score <= 1);
      const [x0, y0, x1, y1] = d.box;
      t.true(x0 >= 0 && y0 >= 0 && x1 <= 96 + 1e-3 && y1 <= 64 + 1e-3 && x1 >= x0 && y1 >= y0, `box ${d.box}`);
    }
    // Sorted by score.
    t.true(per.every((d, k) => k === 0 || per[k - 1]!.score >= d.score));
  }
  disposeBatch(batch);
  m.dispose();
});

test.serial('RoI contract: predictAtBoxes shapes, decode frame, and its gradient reaches the backbone', (t) => {
  const m = tiny();
  const batch = tinyBatch(2, 32, 4);
  const boxes = new Float32Array([0.5, 0.5, 0.4, 0.4, 0.3, 0.6, 0.2, 0.5, 0.9, 0.1, 0.3, 0.2]);
  const backboneVar = m.namedParameters().find(([n]) => n === 'backbone.conv1.weight')![1];
  const headVar = m.namedParameters().find(([n]) => n === 'roi_heads.bbox_pred.weight')![1];
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(() => {
    const { outputs } = m.forwardTrain(batch);
    const p = m.predictAtBoxes(outputs.roiFeatures, { boxes });
    t.deepEqual(p.logits.shape, [2, 3, 4]);
    t.deepEqual(p.boxes.shape, [2, 3, 3, 4]);
    // The head is initialised near zero deltas: every class's box is about the input box.
    const v = p.boxes.dataSync();
    for (let k = 0; k < 2 * 3 * 3; k++) {
      const q = Math.floor(k / 3) % 3;
      for (let c = 0; c < 4; c++) t.true(Math.abs(v[4 * k + c]! - boxes[4 * q + c]!) < 0.02, `box ${k} coord ${c}: ${v[4 * k + c]}`);
    }
    return tf.add(tf.sum(p.logits), tf.sum(p.boxes)) as tf.Scalar;
  }, [backboneVar, headVar]);
  const norm = (g: tf.Tensor) => tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]!);
  t.true(norm(grads[backboneVar.name]!) > 0);
  t.true(norm(grads[headVar.name]!) > 0);
  tf.dispose([value, ...Object.values(grads)]);
  t.is(tf.memory().numTensors, before);
  disposeBatch(batch);
  m.dispose();
});

test.serial('RoI contract: per-image boxes equal the shared ones image by image; the proposals as points are the RPN proposals, normalised', (t) => {
  const m = tiny();
  const batch = tinyBatch(2, 32, 4);
  const a = new Float32Array([0.5, 0.5, 0.4, 0.4, 0.3, 0.6, 0.2, 0.5]);
  const b = new Float32Array([0.9, 0.1, 0.3, 0.2, 0.25, 0.75, 0.5, 0.3]);
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const { outputs } = m.forwardTrain(batch);
    const mixed = m.predictAtBoxes(outputs.roiFeatures, { perImage: [a, b] });
    const sharedA = m.predictAtBoxes(outputs.roiFeatures, { boxes: a });
    const sharedB = m.predictAtBoxes(outputs.roiFeatures, { boxes: b });
    const row = (x: tf.Tensor, i: number) => Array.from(tf.slice(x, [i], [1]).dataSync());
    t.deepEqual(row(mixed.logits, 0), row(sharedA.logits, 0));
    t.deepEqual(row(mixed.logits, 1), row(sharedB.logits, 1));
    t.deepEqual(row(mixed.boxes, 1), row(sharedB.boxes, 1));
    t.throws(() => m.predictAtBoxes(outputs.roiFeatures, { perImage: [a, new Float32Array(4)] }), { message: /the same M for every image/ });
    // Proposals: best first, at most `count`, cxcywh / image size of the xyxy pixel boxes.
    const points = m.distillationProposals(outputs, 5);
    t.is(points.length, 2);
    outputs.proposals.forEach((p, i) => {
      const { width, height } = outputs.roiFeatures.sizes[i]!;
      const n = Math.min(5, p.boxes.length / 4);
      t.is(points[i]!.length, 4 * n);
      for (let k = 0; k < n; k++) {
        const [x0, y0, x1, y1] = Array.from(p.boxes.subarray(4 * k, 4 * k + 4));
        const want = [(x0! + x1!) / 2 / width, (y0! + y1!) / 2 / height, (x1! - x0!) / width, (y1! - y0!) / height];
        want.forEach((v, c) => t.true(Math.abs(points[i]![4 * k + c]! - v) < 1e-6, `image ${i} proposal ${k} coord ${c}`));
      }
    });
  });
  t.is(tf.memory().numTensors, before);
  disposeBatch(batch);
  m.dispose();
});

test.serial('registry: builds faster-rcnn; config errors are CONFIG_INVALID naming the key', async (t) => {
  const registry = createRegistry(createServices({ logger: silentLogger, seed: 1, backend: 'wasm' }).services);
  registerDetectors(registry.pluginContext('@detkit/detectors'));
  const base = { type: 'faster-rcnn', numClasses: 3, backbone: { type: 'resnet', depth: 18, baseWidth: 8, blocks: [1, 1], returnStages: [0, 1] }, fpnChannels: 8, anchorSizes: [[8], [16], [32]], roiHead: { representationSize: 16 } };
  const m = await registry.build<FasterRcnn>('detector', base);
  t.true(m instanceof FasterRcnn);
  m.dispose();
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ fpnChannel: 8 }, 'fpnChannel'],
    [{ rpn: { batchSize: 64 } }, 'rpn.batchSize'],
    [{ roiHead: { outputSize: 'seven' } }, 'roiHead.outputSize'],
    [{ anchorSizes: [[8], [16]] }, 'anchorSizes'],
    [{ anchorSizes: [8, 16, 32] }, 'anchorSizes'],
    [{ numClasses: undefined }, 'numClasses'],
  ];
  for (const [over, key] of cases) {
    const e = await t.throwsAsync(registry.build('detector', { ...base, ...over }));
    t.true(isDetkitError(e) && e.code === 'CONFIG_INVALID' && e.details?.key === key, `${JSON.stringify(over)}: ${e?.message} ${JSON.stringify((e as { details?: unknown }).details)}`);
  }
});
