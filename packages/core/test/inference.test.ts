// The browser-safe inference helpers the web page and Node share.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import test from 'ava';
import { isDetkitError } from '../src/errors.js';
import { buildDetector } from '../src/inference/build-detector.js';
import { rgbaToRgbImage } from '../src/inference/rgb-image.js';
import { createRegistry } from '../src/registry/registry.js';
import { createServices } from '../src/registry/services.js';
import { silentLogger } from '../src/util/logger.js';
import { ToyConvNet } from './toy-model.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

test('rgbaToRgbImage drops alpha and scales to [0, 1]; a wrong length names the sizes', (t) => {
  const img = rgbaToRgbImage(Uint8ClampedArray.from([255, 0, 51, 7, 0, 255, 102, 255]), 2, 1);
  t.deepEqual([...img.image], [1, 0, 0.2, 0, 1, 0.4].map(Math.fround));
  t.like(img, { width: 2, height: 1, channels: 3 });
  t.throws(() => rgbaToRgbImage(new Uint8Array(7), 2, 1), { message: 'rgbaToRgbImage: 7 bytes for a 2x1 RGBA image, expected 8' });
});

test('buildDetector loads weights strictly into the registered detector and frees it when they do not fit', async (t) => {
  const registry = createRegistry(createServices({ logger: silentLogger, backend: 'cpu' }).services);
  registry.register('detector', 'toy', (p) => new ToyConvNet(Number(p.seed)));
  const source = new ToyConvNet(5);
  const before = tf.memory().numTensors;
  const model = await buildDetector(registry, { type: 'toy', seed: 1 }, source.stateDict(), 'toy.safetensors');
  t.deepEqual(await model.stateDict().get('head')!.array(), await source.head.array());
  t.false(model.training);
  model.dispose();
  t.is(tf.memory().numTensors, before);
  const wrong = new Map([...source.stateDict()].filter(([k]) => k !== 'bias'));
  const e = await t.throwsAsync(buildDetector(registry, { type: 'toy', seed: 1 }, wrong, 'toy.safetensors'));
  t.true(isDetkitError(e, 'STATE_DICT_MISMATCH'), String(e));
  t.regex(e!.message, /toy\.safetensors.*bias/s);
  t.is(tf.memory().numTensors, before, 'the half-built detector is freed');
  source.dispose();
});
