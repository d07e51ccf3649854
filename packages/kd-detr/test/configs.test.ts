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
