import test from 'ava';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@detkit/core';

const configs = fileURLToPath(new URL('../../../configs/kd-detr/', import.meta.url));

test('the shipped kd-detr configs load and extend the MNIST student', async (t) => {
  const kd = await loadConfig(`${configs}mnist-kd-detr.ts`);
  t.is(kd.config.model.type, 'dab-detr');
  t.is(kd.config.model.hiddenDim, 128);
  t.is(kd.config.distill?.type, 'kd-detr');
  t.deepEqual(kd.config.plugins, ['@detkit/kd-detr']);
  const hl = await loadConfig(`${configs}mnist-hungarian-logits.ts`);
  t.is(hl.config.distill?.method, 'hungarian-logits');
  t.is(hl.config.distill?.samplers, undefined);
  const gm = await loadConfig(`${configs}mnist-gt-matched-logits.ts`);
  t.is(gm.config.distill?.method, 'gt-matched-logits');
});

test('the DINO -> DINO config extends the DINO student and names the DINO teacher', async (t) => {
  const kd = await loadConfig(`${configs}mnist-dino-kd-detr.ts`);
  t.is(kd.config.model.type, 'dino');
  t.is(kd.config.model.numQueries, 50);
  t.is(kd.config.distill?.method, 'kd-detr');
  const teacher = kd.config.distill?.teacher as { config: string; checkpoint: string };
  t.regex(teacher.config, /configs\/dino\/mnist-teacher\.ts$/);
  t.regex(teacher.checkpoint, /checkpoints\/dino-mnist-teacher\.safetensors$/);
});

test('the heterogeneous config extends the Faster R-CNN config, whose model builds', async (t) => {
  const kd = await loadConfig(`${configs}mnist-dab-to-faster-rcnn.ts`);
  t.is(kd.config.model.type, 'faster-rcnn');
  t.is(kd.config.distill?.method, 'kd-detr-hetero');
  t.regex(String((kd.config.distill?.teacher as { checkpoint: string }).checkpoint), /checkpoints\/dab-detr-mnist-teacher\.safetensors$/);
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const { createRegistry, createServices, silentLogger } = await import('@detkit/core');
  const { registerDetectors, FasterRcnn } = await import('@detkit/detectors');
  const registry = createRegistry(createServices({ logger: silentLogger, seed: 1, backend: 'cpu' }).services);
  registerDetectors(registry.pluginContext('@detkit/detectors'));
  const model = await registry.build('detector', kd.config.model);
  t.true(model instanceof FasterRcnn);
  (model as InstanceType<typeof FasterRcnn>).dispose();
});
