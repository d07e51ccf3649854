import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { isDetkitError, resolveParamGroups } from '@detkit/core';
import type { Dino, DinoOptions } from '../src/detectors.js';
import {
  buildShippedConfig, detectorRegistry, disposeBatch, expectConfigInvalid, testOverfitsOneBatch, testPredictsTopK, tinyBatch, tinyDino, useWasmBackend, widerTinyOptions,
} from './detr-helpers.js';

useWasmBackend();

function model(over: Partial<DinoOptions> = {}): Dino {
  return tinyDino({ ...widerTinyOptions(), groupNormGroups: 8, ...over });
}

test.serial('parameter names mirror the DINO reference', (t) => {
  const m = model();
  const names = new Set(m.namedParameters().map(([n]) => n));
  for (const n of [
    'input_proj.0.0.weight', 'input_proj.1.1.bias', 'transformer.level_embed',
    'transformer.encoder.layers.0.self_attn.sampling_offsets.bias',
    'transformer.decoder.layers.1.cross_attn.sampling_offsets.weight', 'transformer.decoder.layers.1.self_attn.in_proj_weight',
    'transformer.decoder.ref_point_head.layers.1.weight', 'transformer.decoder.norm.weight',
    'transformer.enc_output.weight', 'transformer.enc_output_norm.bias', 'transformer.enc_out_class_embed.bias',
    'transformer.enc_out_bbox_embed.layers.2.weight', 'transformer.tgt_embed.weight', 'label_enc.weight',
    'class_embed.1.weight', 'bbox_embed.1.layers.2.bias',
  ]) t.true(names.has(n), n);
  t.false([...names].some((n) => n.startsWith('refpoint_embed') || n.includes('query_scale')), 'DINO has no learned anchors and no query scale');
  t.deepEqual(m.labelEnc.weight.shape, [4, 32], 'one label row per class plus one');
  m.dispose();
});

testOverfitsOneBatch('dino', () => model());

testPredictsTopK((topK) => model({ topK }));

test.serial("look forward twice: a loss on layer 2's boxes reaches layer 1's box head (not layer 0's); with the option off it does not", (t) => {
  const m = model({ numDecoderLayers: 3 });
  // Box heads start with a zero last layer; give them weights so every layer of a head can get gradient.
  tf.tidy(() => m.bboxEmbed.forEach((h, i) => h.layers[2]!.weight.assign(tf.randomNormal(h.layers[2]!.weight.shape, 0, 0.1, 'float32', 20 + i))));
  const batch = tinyBatch(2, 32, 4);
  const params = m.trainableParameters();
  const gradOf = (lookForwardTwice: boolean): Map<string, number> => {
    m.lookForwardTwice = lookForwardTwice;
    const byName = new Map<string, number>();
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const { detection } = m.decode(m.encode(batch.images, batch.masks), []);
        return tf.sum(tf.mul(detection.boxes[2]!, tf.randomNormal(detection.boxes[2]!.shape, 0, 1, 'float32', 7))) as tf.Scalar;
      }, params.map(([, v]) => v));
      for (const [n, v] of params) byName.set(n, grads[v.name] ? tf.sum(tf.abs(grads[v.name]!)).dataSync()[0]! : 0);
    });
    return byName;
  };
  const head = (g: Map<string, number>, l: number) => [...g].filter(([n]) => n.startsWith(`bbox_embed.${l}.`)).reduce((s, [, v]) => s + v, 0);
  const on = gradOf(true);
  const off = gradOf(false);
  t.true(head(on, 1) > 0, 'layer 1 box head got no gradient from layer 2 with look-forward-twice');
  t.is(head(off, 1), 0, 'layer 1 box head got gradient from layer 2 without look-forward-twice');
  t.is(head(on, 0), 0, 'layer 0 box head reached: the reference box passed on must stay detached');
  t.true(head(on, 2) > 0 && head(off, 2) > 0);
  disposeBatch(batch);
  m.dispose();
});

test.serial('registry: bad configs fail with CONFIG_INVALID naming the key', async (t) => {
  const reg = detectorRegistry();
  const base = {
    type: 'dino', numClasses: 3, backbone: { type: 'resnet', depth: 18, baseWidth: 8, blocks: [1, 1], returnStages: [0, 1] },
    hiddenDim: 16, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16, numQueries: 4, groupNormGroups: 4, numFeatureLevels: 3, numPoints: 2,
  };
  const ok = await reg.build<Dino>('detector', base);
  t.deepEqual([ok.denoising, ok.lookForwardTwice], [{ on: true, budget: 100, labelNoise: 0.5, boxNoise: 0.4 }, true], 'the reference defaults');
  ok.dispose();
  const off = await reg.build<Dino>('detector', { ...base, denoising: false, dnNumber: 0 });
  t.false(off.denoising.on, 'a zero budget is fine when denoising is off');
  off.dispose();
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ dnBoxNoise: -0.1 }, 'dnBoxNoise', /finite number >= 0/],
    [{ dnNumber: 0 }, 'dnNumber', /positive integer .* while denoising is on/],
    [{ dnNumber: 2.5 }, 'dnNumber', /positive integer/],
    [{ dnLabelNoise: 1.5 }, 'dnLabelNoise', /in \[0, 1\]/],
    [{ numPoints: 0 }, 'numPoints', /^dino: 'numPoints' .*positive integer/],
    [{ numFeatureLevels: 4 }, 'numFeatureLevels', /backbone returns 2 level\(s\).*at most 3/],
    [{ dnNoise: 0.4 }, 'dnNoise', /unknown parameter 'dnNoise'.*dnBoxNoise/],
    [{ lookForwardTwice: 1 }, 'lookForwardTwice', /must be boolean/],
  ];
  await expectConfigInvalid(t, reg, base, cases);
});

test.serial('more queries than encoder tokens fail at the first batch with CONFIG_INVALID naming numQueries, leaking nothing', (t) => {
  const m = tinyDino({ numQueries: 30 }); // 16x16 images: 4x4 + 2x2 = 20 tokens
  const batch = tinyBatch();
  const before = tf.memory().numTensors;
  const err = t.throws(() => m.forwardTrain(batch));
  t.true(isDetkitError(err, 'CONFIG_INVALID') && err.details?.['key'] === 'numQueries' && /numQueries 30 exceeds the 20 encoder tokens/.test(err.message), String(err));
  t.is(tf.memory().numTensors, before);
  disposeBatch(batch);
  m.dispose();
});

test.serial('the shipped configs build with the deformable models\' shapes and train the sampling offsets at lr x0.1', async (t) => {
  const build = (file: string) => buildShippedConfig<Dino & { numLevels: number }>(file);
  for (const name of ['mnist-student', 'mnist-teacher']) {
    const { config, model: m } = await build(`dino/${name}.ts`);
    const deformable = await build(`deformable-detr/${name}.ts`);
    t.is(m.numLevels, deformable.model.numLevels, name);
    t.is(m.backbone.numParameters(), deformable.model.backbone.numParameters(), `${name}: the deformable ${name}'s backbone`);
    t.deepEqual([m.hiddenDim, m.numDecoderLayers, m.numQueries], [deformable.model.hiddenDim, deformable.model.numDecoderLayers, deformable.model.numQueries]);
    const resolved = resolveParamGroups(m.trainableParameters(), config.train.optimizer.paramGroups, 0);
    const slow = resolved.filter((p) => p.lrMult === 0.1).map((p) => p.name).sort();
    const want = m.trainableParameters().map(([n]) => n).filter((n) => n.includes('.sampling_offsets.')).sort();
    t.true(want.length > 2);
    t.deepEqual(slow, want, name);
    m.dispose();
    deformable.model.dispose();
  }
});
