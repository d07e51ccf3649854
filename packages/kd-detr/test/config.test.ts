import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { buildRun, validateConfig, type Registry } from '@detkit/core';
import { KdDetrHook } from '../src/kd-detr.js';
import { testRegistry, tinyModel, tinySource, tmp, writeTeacher } from './helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

/** A stand-in dataset and loader so buildRun can assemble a run from a config. */
function registerFakeData(registry: Registry): void {
  registry.register('dataset', 'fake', () => ({ length: 4, classNames: ['0', '1', '2'], get: () => { throw new Error('unused'); } }));
  registry.register('loader', 'default', () => tinySource());
}

const base = (over: Record<string, unknown> = {}) =>
  validateConfig({ model: tinyModel(), data: { train: { type: 'fake' } }, hooks: [], workDir: tmp(), ...over }, 'test-config');

test('a distill section builds the kd-detr hook; without it the run is plain', async (t) => {
  const { registry } = await testRegistry();
  registerFakeData(registry);
  const teacher = await writeTeacher(registry, tmp());
  const withKd = await buildRun(base({ plugins: ['@detkit/kd-detr'], distill: { type: 'kd-detr', teacher, samplers: [{ type: 'general', count: 10 }] } }), registry);
  t.true(withKd.hooks.some((h) => h instanceof KdDetrHook));
  const plain = await buildRun(base(), registry);
  t.is(plain.hooks.length, 0);
  t.false(plain.hooks.some((h) => h.name === 'kd-detr'));
});

test('a distill section without the plugin loaded fails naming the hook kind', async (t) => {
  const { createRegistry, createServices } = await import('@detkit/core');
  const { registerDetectors } = await import('@detkit/detectors');
  const registry = createRegistry(createServices({ seed: 1 }).services);
  registerDetectors(registry.pluginContext('@detkit/detectors'));
  registerFakeData(registry);
  await t.throwsAsync(buildRun(base({ distill: { type: 'kd-detr', teacher: { model: tinyModel(), checkpoint: 'x' } } }), registry), { message: /hook 'kd-detr'|hook named 'kd-detr'/ });
});
