import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import type { Hook } from '@detkit/core';
import { ConsistentPointsDistillation, GeneralSampler, HeteroRoiDistillation, HungarianLogitsDistillation, KdDetrHook, ProposalSampler, resolveKdLossOptions } from '../src/kd-detr.js';
import { testRegistry, tmp, writeTeacher } from './helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

// Every default the kd-detr README and config docs promise, pinned: changing one must be a
// deliberate edit of this file (the KL normaliser was once switched without any test noticing).
test('the loss defaults are the reference\'s: T=10, lambdas 1/5/2, foreground weighting, plain KL sum', (t) => {
  t.deepEqual(resolveKdLossOptions(), { temperature: 10, weights: { cls: 1, l1: 5, giou: 2 }, foregroundWeighting: true, klNormalizer: 'sum' });
});

test('a distill section with only a teacher builds kd-detr with the documented defaults', async (t) => {
  const { registry } = await testRegistry(7);
  const teacher = await writeTeacher(registry, tmp());
  const hook = await registry.build<Hook>('hook', { type: 'kd-detr', teacher });
  t.true(hook instanceof KdDetrHook);
  const kd = hook as KdDetrHook;
  t.is(kd.priority, 50);
  t.true(kd.method instanceof ConsistentPointsDistillation);
  const method = kd.method as ConsistentPointsDistillation;
  t.deepEqual(method.loss, resolveKdLossOptions());
  t.is(method.loss.klNormalizer, 'sum');
  // Samplers: KD-DETR's general-to-specific pair, 300 general points (the paper's COCO count).
  t.deepEqual(method.samplers.map((s) => s.name), ['general', 'specific']);
  const general = method.samplers[0] as GeneralSampler;
  t.is(general.count, 300);
  // General points default to the run's seed (the registry's rng seed, 7 here).
  const a = general.sample({ iter: 3, teacherAnchors: tf.zeros([1, 4]) as tf.Tensor2D });
  const b = new GeneralSampler({ count: 300, seed: 7 }).sample({ iter: 3, teacherAnchors: tf.zeros([1, 4]) as tf.Tensor2D });
  t.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  // N(0, 1) in pre-sigmoid space.
  const x = Array.from(a.dataSync());
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  t.true(Math.abs(mean) < 0.15, `mean ${mean}`);
  kd.dispose();
});

test('hungarian-logits defaults: the same loss defaults, every teacher query a target', async (t) => {
  const { registry } = await testRegistry();
  const teacher = await writeTeacher(registry, tmp());
  const hook = (await registry.build<Hook>('hook', { type: 'kd-detr', method: 'hungarian-logits', teacher })) as KdDetrHook;
  const method = hook.method as HungarianLogitsDistillation;
  t.true(method instanceof HungarianLogitsDistillation);
  t.deepEqual(method.loss, resolveKdLossOptions());
  t.is(method.maxTargets, Infinity);
  hook.dispose();
});

test("kd-detr-hetero defaults: the same loss defaults, boxes compared in image space, every point kept", async (t) => {
  const { registry } = await testRegistry();
  const method = await registry.build<HeteroRoiDistillation>('distill-method', { type: 'kd-detr-hetero', samplers: [{ type: 'proposals' }] });
  t.true(method instanceof HeteroRoiDistillation);
  t.deepEqual(method.loss, resolveKdLossOptions());
  t.is(method.boxSpace, 'image');
  t.is(method.minTeacherIou, 0);
  t.deepEqual(method.samplers.map((s) => [s.name, (s as ProposalSampler).count]), [['proposals', 100]]);
});
