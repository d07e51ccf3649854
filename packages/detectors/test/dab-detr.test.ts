import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { createOptimizer, createRegistry, createServices, isDetkitError, selectBackend, silentLogger, type Batch } from '@detkit/core';
import { DabDetr, Detr, SmallCnn, registerDetectors, type DabDetrOptions } from '../src/detectors.js';
import { disposeBatch, tinyBatch } from './detr-helpers.js';

test.before(async () => {
  // wasm with detkit's training kernels (what runs here); falls back to cpu if unavailable.
  await selectBackend({ backend: 'wasm', logger: silentLogger });
});

function model(over: Partial<DabDetrOptions> = {}): DabDetr {
  return new DabDetr({
    numClasses: 3,
    backbone: new SmallCnn({ channels: [16, 32], seed: 1 }),
    hiddenDim: 32,
    numHeads: 4,
    numEncoderLayers: 1,
    numDecoderLayers: 2,
    dimFeedforward: 64,
    numQueries: 10,
    seed: 5,
    ...over,
  });
}

/** One optimiser step; returns the summed loss. */
function step(m: DabDetr | Detr, batch: Batch, opt: ReturnType<typeof createOptimizer>, lr: number): number {
  const params = m.trainableParameters();
  const byVar = new Map(params.map(([n, v]) => [v.name, n]));
  const { value, grads } = tf.variableGrads(() => tf.addN(Object.values(m.forwardTrain(batch).losses)) as tf.Scalar, params.map(([, v]) => v));
  const named = new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k)!, g]));
  opt.step(named, lr);
  named.forEach((g) => g.dispose());
  const loss = value.dataSync()[0]!;
  value.dispose();
  return loss;
}

test.serial('parameter names mirror the DAB-DETR reference', (t) => {
  const m = model();
  const names = new Set(m.namedParameters().map(([n]) => n));
  for (const n of [
    'refpoint_embed.weight',
    'class_embed.weight',
    'bbox_embed.layers.2.bias',
    'input_proj.weight',
    'transformer.encoder.layers.0.self_attn.in_proj_weight',
    'transformer.encoder.query_scale.layers.1.weight',
    'transformer.decoder.layers.0.ca_qpos_proj.weight',
    'transformer.decoder.layers.1.ca_qpos_sine_proj.weight',
    'transformer.decoder.layers.1.self_attn.out_proj.weight',
    'transformer.decoder.layers.1.cross_attn.out_proj.weight',
    'transformer.decoder.norm.weight',
    'transformer.decoder.ref_point_head.layers.0.weight',
    'transformer.decoder.ref_anchor_head.layers.1.weight',
  ]) t.true(names.has(n), n);
  // The reference drops ca_qpos_proj after the first layer.
  t.false(names.has('transformer.decoder.layers.1.ca_qpos_proj.weight'));
  m.dispose();
});

test.serial('a tiny dab-detr overfits one batch (loss falls markedly in 30 iterations) without leaking tensors', (t) => {
  const m = model();
  const batch = tinyBatch(2, 32, 1);
  const opt = createOptimizer({ type: 'adamw', lr: 5e-3, weightDecay: 0 }, m.trainableParameters());
  const losses: number[] = [];
  let tensorsAfter2 = 0;
  for (let i = 0; i < 30; i++) {
    losses.push(step(m, batch, opt, 5e-3));
    if (i === 2) tensorsAfter2 = tf.memory().numTensors;
  }
  t.is(tf.memory().numTensors, tensorsAfter2, 'tensor count grew across iterations');
  const first = losses[0]!;
  const last = Math.min(...losses.slice(-3));
  t.log(losses.map((l) => l.toFixed(2)).join(' ')); t.log(`loss ${first.toFixed(3)} -> ${last.toFixed(3)} on ${tf.getBackend()}`);
  t.true(last < 0.5 * first, `loss did not fall enough: ${first} -> ${last}`);
  opt.dispose();
  disposeBatch(batch);
  m.dispose();
});

test.serial('predict: top-k detections in original-image pixels, eval mode restored, no leaks', async (t) => {
  const m = model({ topK: 7 });
  const batch = tinyBatch(2, 32, 2);
  const before = tf.memory().numTensors;
  const dets = await m.predict(batch);
  t.is(tf.memory().numTensors, before);
  t.true(m.training);
  t.is(dets.length, 2);
  for (const [i, d] of dets.entries()) {
    t.is(d.length, 7);
    for (const x of d) {
      t.is(x.imageId, i);
      t.true(x.label >= 0 && x.label < 3);
      t.true(x.score > 0 && x.score < 1);
    }
    // Zero-initialised box head: every box is one of the anchors, scaled to the original size (96 x 64).
    const a = Array.from(tf.tidy(() => tf.sigmoid(m.detectionQueries().anchors).dataSync()));
    for (const x of d) {
      const hit = [...Array(10).keys()].some((q) => {
        const [cx, cy, w, h] = a.slice(4 * q, 4 * q + 4) as [number, number, number, number];
        const want = [(cx - w / 2) * 96, (cy - h / 2) * 64, (cx + w / 2) * 96, (cy + h / 2) * 64];
        return want.every((v, k) => Math.abs(v - x.box[k]!) < 0.1);
      });
      t.true(hit, `box ${x.box} is no scaled anchor`);
    }
    for (let k = 1; k < d.length; k++) t.true(d[k - 1]!.score >= d[k]!.score);
  }
  disposeBatch(batch);
  m.dispose();
});

test.serial('registry builds dab-detr and detr with a nested backbone; unknown params fail by name', async (t) => {
  const { services } = createServices({ logger: silentLogger, seed: 1 });
  const reg = createRegistry(services);
  registerDetectors(reg.pluginContext('@detkit/detectors'));
  const cfg = { numClasses: 3, backbone: { type: 'small-cnn', channels: [8, 16] }, hiddenDim: 16, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16, numQueries: 4 };
  const dab = await reg.build<DabDetr>('detector', { type: 'dab-detr', ...cfg });
  t.true(dab instanceof DabDetr);
  const detr = await reg.build<Detr>('detector', { type: 'detr', ...cfg });
  t.true(detr instanceof Detr);
  const resnet = await reg.build<{ outChannels: number[] }>('backbone', { type: 'resnet', depth: 18, baseWidth: 8, blocks: [1, 1] });
  t.deepEqual(resnet.outChannels, [16]);
  const err = await t.throwsAsync(reg.build('detector', { type: 'dab-detr', ...cfg, numQuery: 3 }));
  t.true(isDetkitError(err, 'CONFIG_INVALID') && /numQuery/.test(err.message) && /numQueries/.test(err.message), String(err));
  dab.dispose();
  detr.dispose();
});
