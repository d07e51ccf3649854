import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { createRegistry, createServices, isDetkitError, selectBackend, silentLogger } from '@detkit/core';
import { DabDetr, Detr, registerDetectors, type DabDetrOptions } from '../src/detectors.js';
import { checkedPredict, testOverfitsOneBatch, tinyDabDetr, widerTinyOptions } from './detr-helpers.js';

test.before(async () => {
  // wasm with detkit's training kernels (what runs here); falls back to cpu if unavailable.
  await selectBackend({ backend: 'wasm', logger: silentLogger });
});

function model(over: Partial<DabDetrOptions> = {}): DabDetr {
  return tinyDabDetr({ ...widerTinyOptions(), ...over });
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

testOverfitsOneBatch('dab-detr', () => model());

test.serial('predict: top-k detections in original-image pixels, eval mode restored, no leaks', async (t) => {
  const m = model({ topK: 7 });
  const dets = await checkedPredict(t, m);
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
