import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, readCheckpointMeta, saveCheckpoint } from '../src/checkpoint/checkpoint.js';
import { validateConfig } from '../src/config/index.js';
import { isDetkitError } from '../src/errors.js';
import { configChanges, formatChanges, trainingConfig } from '../src/runner/training-config.js';
import { ToyConvNet } from './toy-model.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

const base = {
  seed: 3,
  workDir: 'work_dirs/a',
  backend: 'wasm',
  plugins: ['@detkit/kd-detr'],
  model: { type: 'toy', width: 4 },
  data: { train: { type: 'mem', n: 10 }, val: { type: 'mem', n: 3 }, batchSize: 4, valBatchSize: 8, numWorkers: 2 },
  train: { maxIters: 7, logInterval: 2, evalInterval: 5, checkpointInterval: 6, workers: 2, optimizer: { type: 'adamw', lr: 1e-3, paramGroups: [{ match: 'backbone.', lrMult: 0.1 }] } },
  evaluator: { type: 'coco' },
  defaultHooks: { progress: false },
  distill: { type: 'kd-detr', weights: { cls: 0.3 } },
};

test('trainingConfig keeps what a run computes and drops its bookkeeping', (t) => {
  const c = trainingConfig(validateConfig(base, 'mem'));
  t.deepEqual(Object.keys(c).sort(), ['data', 'distill', 'model', 'seed', 'train']);
  t.deepEqual(c.data, { train: { type: 'mem', n: 10 }, batchSize: 4, shuffle: true });
  t.deepEqual(c.train, { optimizer: { type: 'adamw', lr: 1e-3, weightDecay: 1e-4, paramGroups: [{ match: 'backbone.', lrMult: 0.1 }] }, clipGradNorm: 0.1 });
  t.deepEqual(c.distill, { type: 'kd-detr', weights: { cls: 0.3 } });
});

test('extending, moving or re-evaluating a run is no change; a weight, a rate or a seed is', (t) => {
  const a = trainingConfig(validateConfig(base, 'mem'));
  const bookkeeping = { ...base, workDir: 'elsewhere', backend: 'cpu', train: { ...base.train, maxIters: 3000, evalInterval: 1000, workers: 1 }, data: { ...base.data, val: { type: 'mem', n: 500 } } };
  t.deepEqual(configChanges(a, trainingConfig(validateConfig(bookkeeping, 'mem'))), []);
  const changed = { ...base, seed: 4, distill: { type: 'kd-detr', weights: { cls: 1 } }, train: { ...base.train, optimizer: { ...base.train.optimizer, paramGroups: [{ match: 'backbone.', lrMult: 1 }] } } };
  t.deepEqual(configChanges(a, trainingConfig(validateConfig(changed, 'mem'))), [
    { path: 'distill.weights.cls', before: '0.3', after: '1' },
    { path: 'seed', before: '3', after: '4' },
    { path: 'train.optimizer.paramGroups.0.lrMult', before: '0.1', after: '1' },
  ]);
});

test('configChanges: keys on one side only, lists of another length, RegExps and functions', (t) => {
  t.deepEqual(configChanges({ a: 1 }, { a: 1, b: { c: 2 } }), [{ path: 'b', before: '(absent)', after: '{"c":2}' }]);
  t.deepEqual(configChanges({ l: [1, 2] }, { l: [1, 2, 3] }), [{ path: 'l', before: '[1,2]', after: '[1,2,3]' }]);
  t.deepEqual(configChanges({ l: [1, 2] }, { l: [1, 5] }), [{ path: 'l.1', before: '2', after: '5' }]);
  t.deepEqual(configChanges(1, 2), [{ path: '(config)', before: '1', after: '2' }]);
  const withRegExp = trainingConfig(validateConfig({ ...base, model: { type: 'toy', freeze: /^backbone\./, init: () => 1 } }, 'mem'));
  t.deepEqual(withRegExp.model, { type: 'toy', freeze: '/^backbone\\./' }, 'RegExp as its source, function dropped');
  t.is(formatChanges([{ path: 'seed', before: '3', after: '4' }]), '  seed: 3 -> 4');
});

test('readCheckpointMeta reads the header alone and agrees with loadCheckpoint; a bad file is CHECKPOINT_CORRUPT', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'detkit-meta-'));
  const model = new ToyConvNet(3);
  const path = join(dir, 'ck.safetensors');
  const config = { seed: 3, distill: { weights: { cls: 0.3 } } };
  await saveCheckpoint(path, { model, iter: 9, epoch: 1, epochIter: 2, meta: { seed: 3, config, configHash: 'h' } });
  const meta = await readCheckpointMeta(path);
  const ck = await loadCheckpoint(path);
  t.deepEqual(meta, ck.meta);
  t.like(meta, { iter: 9, epoch: 1, epochIter: 2, config, configHash: 'h' });
  ck.dispose();
  model.dispose();

  writeFileSync(join(dir, 'short.safetensors'), Buffer.from([1, 2, 3]));
  const long = Buffer.alloc(16);
  long.writeBigUInt64LE(1000n, 0); // announces more header than the file holds
  writeFileSync(join(dir, 'truncated.safetensors'), long);
  for (const [name, problem] of [['short', /too short/], ['truncated', /truncated/]] as const) {
    const err = await t.throwsAsync(readCheckpointMeta(join(dir, `${name}.safetensors`)));
    t.true(isDetkitError(err, 'CHECKPOINT_CORRUPT'), String(err));
    t.regex(err!.message, problem);
  }
  t.true(isDetkitError(await t.throwsAsync(readCheckpointMeta(join(dir, 'missing.safetensors'))), 'IO'));
});
