import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { isDetkitError, resolveParamGroups } from '@detkit/core';
import { offsetGrid, type DeformableDetr, type DeformableDetrOptions } from '../src/detectors.js';
import { buildShippedConfig, detectorRegistry, expectConfigInvalid, testOverfitsOneBatch, testPredictsTopK, tinyDeformableDetr, useWasmBackend, widerTinyOptions } from './detr-helpers.js';

useWasmBackend();

function model(over: Partial<DeformableDetrOptions> = {}): DeformableDetr {
  return tinyDeformableDetr({ ...widerTinyOptions(), groupNormGroups: 8, ...over });
}

test.serial('parameter names mirror the Deformable DETR reference; offsets start on the reference grid', (t) => {
  const m = model();
  const names = new Set(m.namedParameters().map(([n]) => n));
  for (const n of [
    'input_proj.0.0.weight', 'input_proj.0.1.weight', 'input_proj.1.0.weight', 'input_proj.1.1.bias',
    'transformer.level_embed',
    'transformer.encoder.layers.0.self_attn.sampling_offsets.bias',
    'transformer.encoder.layers.0.self_attn.attention_weights.weight',
    'transformer.encoder.layers.0.self_attn.value_proj.weight',
    'transformer.encoder.layers.0.self_attn.output_proj.weight',
    'transformer.decoder.layers.1.cross_attn.sampling_offsets.weight',
    'transformer.decoder.layers.1.self_attn.in_proj_weight',
    'transformer.decoder.layers.1.norm3.weight',
    'class_embed.1.weight', 'bbox_embed.1.layers.2.bias', 'refpoint_embed.weight',
  ]) t.true(names.has(n), n);
  t.is(m.inputProj[1]!.conv.stride[0], 2, 'the extra level is a stride-2 conv');
  const enc = m.transformer.encoder.layers[0]!.selfAttn;
  t.deepEqual(Array.from(enc.samplingOffsets.bias!.dataSync()), Array.from(offsetGrid(4, 2, 2)));
  t.is(tf.sum(tf.abs(enc.samplingOffsets.weight)).dataSync()[0], 0);
  // Head 1 of 4 points along +y (theta = pi/2), point p at distance p + 1.
  const g = offsetGrid(4, 2, 2);
  t.true(Math.abs(g[(1 * 2 * 2 + 1) * 2]!) < 1e-6 && g[(1 * 2 * 2 + 1) * 2 + 1] === 2);
  m.dispose();
});

testOverfitsOneBatch('deformable-detr', () => model());

testPredictsTopK((topK) => model({ topK }));

test.serial('registry: bad configs fail with CONFIG_INVALID naming the key', async (t) => {
  const reg = detectorRegistry();
  const base = {
    type: 'deformable-detr', numClasses: 3, backbone: { type: 'resnet', depth: 18, baseWidth: 8, blocks: [1, 1], returnStages: [0, 1] },
    hiddenDim: 16, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16, numQueries: 4, groupNormGroups: 4, numFeatureLevels: 3, numPoints: 2,
  };
  const ok = await reg.build<DeformableDetr>('detector', base);
  t.is(ok.numLevels, 3);
  ok.dispose();
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ numFeatureLevels: 4 }, 'numFeatureLevels', /backbone returns 2 level\(s\).*at most 3/],
    [{ numPoints: 0 }, 'numPoints', /positive integer/],
    [{ numHeads: 3 }, 'numHeads', /3 does not divide hiddenDim 16/],
    [{ groupNormGroups: 5 }, 'groupNormGroups', /5 does not divide hiddenDim 16/],
    [{ numPoint: 2 }, 'numPoint', /unknown parameter 'numPoint'.*numPoints/],
  ];
  await expectConfigInvalid(t, reg, base, cases);
  const two = await t.throwsAsync(reg.build('detector', { ...base, twoStage: true }));
  t.true(isDetkitError(two, 'NOT_IMPLEMENTED') && two.details?.['key'] === 'twoStage', String(two));
});

test.serial('the shipped configs give exactly the sampling offsets and the anchors lr x0.1', async (t) => {
  for (const name of ['mnist-student', 'mnist-teacher']) {
    const { config, model: m } = await buildShippedConfig<DeformableDetr>(`deformable-detr/${name}.ts`);
    const resolved = resolveParamGroups(m.trainableParameters(), config.train.optimizer.paramGroups, 0);
    const slow = resolved.filter((p) => p.lrMult === 0.1).map((p) => p.name).sort();
    const want = m.trainableParameters().map(([n]) => n).filter((n) => n.includes('.sampling_offsets.') || n.startsWith('refpoint_embed.')).sort();
    t.true(want.length > 2);
    t.deepEqual(slow, want, name);
    t.true(resolved.every((p) => p.lrMult === 1 || p.lrMult === 0.1));
    m.dispose();
  }
});
