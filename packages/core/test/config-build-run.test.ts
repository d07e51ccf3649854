import test from 'ava';
import { buildRun, validateConfig } from '../src/config/index.js';
import type { BatchSource, Dataset } from '../src/data/types.js';
import { isDetkitError } from '../src/errors.js';
import { createRegistry, createServices } from '../src/registry/index.js';
import { silentLogger } from '../src/util/logger.js';

function setup(logger = silentLogger) {
  const reg = createRegistry(createServices({ seed: 3, logger }).services);
  const calls: Record<string, unknown[]> = { loader: [], hook: [], evaluator: [] };
  const fakeModel = { forwardTrain() {}, predict: async () => [], namedParameters: () => [], classNames: ['a'] };
  reg.register('detector', 'toy', (p) => ({ ...fakeModel, params: p }));
  reg.register('dataset', 'mem', (p): Dataset => ({ length: Number(p.n), classNames: ['a'], get: () => { throw new Error('unused'); } }));
  reg.register('loader', 'default', (p): BatchSource => {
    calls.loader!.push(p);
    return { length: Math.ceil((p.dataset as Dataset).length / Number(p.batchSize)), batches: async function* () {} };
  });
  reg.register('evaluator', 'coco', (p) => (calls.evaluator!.push(p), { evaluate: () => ({}) }));
  for (const h of ['logger', 'checkpoint', 'eval', 'lr-schedule', 'kd-detr/distill', 'ema']) {
    reg.register('hook', h, (p) => (calls.hook!.push({ type: h, ...p }), { name: h }));
  }
  return { reg, calls };
}

const base = {
  seed: 11,
  workDir: 'work_dirs/x',
  model: { type: 'toy', width: 4 },
  data: { train: { type: 'mem', n: 10 }, val: { type: 'mem', n: 3 }, batchSize: 4, transforms: [{ type: 'flip' }] },
  train: { maxIters: 7, logInterval: 2, evalInterval: 5, checkpointInterval: 6, lrSchedule: { type: 'lr-schedule', policy: 'cosine' } },
};

test('buildRun: model, loaders through the loader seam, defaults hooks (skipping unregistered), evaluator', async (t) => {
  const { reg, calls } = setup();
  const opts = await buildRun(validateConfig(base, 'mem'), reg);
  t.deepEqual((opts.model as unknown as { params: unknown }).params, { width: 4 });
  t.is(opts.maxIters, 7);
  t.is(opts.train.length, 3);
  t.is(opts.val!.source.length, 1); // ceil(3 / 4)
  t.is(opts.val!.dataset.length, 3);
  const [trainP, valP] = calls.loader as Record<string, unknown>[];
  t.like(trainP, { batchSize: 4, shuffle: true, seed: 11, split: 'train', transforms: [{ type: 'flip' }] });
  t.like(valP, { batchSize: 4, shuffle: false, split: 'val', transforms: [] });
  // 'progress' is not registered here: skipped; lr schedule appended
  t.deepEqual(opts.hooks.map((h) => h.name), ['logger', 'checkpoint', 'eval', 'lr-schedule']);
  t.deepEqual(calls.hook, [
    { type: 'logger', interval: 2 },
    { type: 'checkpoint', interval: 6 },
    { type: 'eval', interval: 5 },
    { type: 'lr-schedule', policy: 'cosine' },
  ]);
  t.is(calls.evaluator!.length, 1);
  t.true(opts.workDir.endsWith('work_dirs/x'));
  t.is(opts.optimizer.type, 'adamw');
  t.is(opts.services, reg.services);
});

test('buildRun: listed hooks replace the defaults; distill with a type becomes a hook; unknown hook fails', async (t) => {
  const { reg } = setup();
  const cfg = validateConfig({ ...base, hooks: [{ type: 'ema' }], distill: { type: 'kd-detr/distill', teacher: {} } }, 'mem');
  const opts = await buildRun(cfg, reg, { resumeFrom: 'ck.safetensors' });
  t.deepEqual(opts.hooks.map((h) => h.name), ['ema', 'lr-schedule', 'kd-detr/distill']);
  t.is(opts.resumeFrom, 'ck.safetensors');
  const bad = validateConfig({ ...base, hooks: [{ type: 'emma' }] }, 'mem');
  const e = await t.throwsAsync(buildRun(bad, reg));
  t.true(isDetkitError(e, 'REGISTRY_UNKNOWN'));
  t.regex(e!.message, /Did you mean 'ema'/);
});

test('buildRun: a detector that is not a TrainableModel is a MODEL_CONTRACT error', async (t) => {
  const { reg } = setup();
  reg.register('detector', 'broken', () => ({ predict() {} }));
  const e = await t.throwsAsync(buildRun(validateConfig({ ...base, model: { type: 'broken' } }, 'mem'), reg));
  t.true(isDetkitError(e, 'MODEL_CONTRACT'));
  t.regex(e!.message, /forwardTrain/);
});

test('customHooks are added to the defaults; defaultHooks tunes a default or leaves it out', async (t) => {
  const { reg, calls } = setup();
  const cfg = validateConfig({ ...base, customHooks: [{ type: 'ema', decay: 0.9 }], defaultHooks: { checkpoint: { interval: 3, keep: 2 }, eval: false } }, 'mem');
  const opts = await buildRun(cfg, reg);
  t.deepEqual(opts.hooks.map((h) => h.name), ['logger', 'checkpoint', 'ema', 'lr-schedule']);
  t.deepEqual(calls.hook!.slice(0, 3), [
    { type: 'logger', interval: 2 },
    { type: 'checkpoint', interval: 3, keep: 2 },
    { type: 'ema', decay: 0.9 },
  ]);
});

test('a misspelt default hook name is refused; hooks cannot be combined with customHooks', async (t) => {
  const bad = t.throws(() => validateConfig({ ...base, defaultHooks: { checkpiont: false } }, 'mem.json'));
  t.regex(bad!.message, /defaultHooks/);
  const { reg } = setup();
  const both = await t.throwsAsync(buildRun(validateConfig({ ...base, hooks: [{ type: 'ema' }], customHooks: [{ type: 'ema' }] }, 'mem'), reg));
  t.true(isDetkitError(both) && both.code === 'CONFIG_INVALID');
  t.regex(both!.message, /customHooks/);
});

test('hooks: [...] without a checkpoint hook says so (never a silent drop)', async (t) => {
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (m: string) => warnings.push(m) };
  const { reg } = setup(logger);
  await buildRun(validateConfig({ ...base, hooks: [{ type: 'logger' }] }, 'mem'), reg);
  t.is(warnings.length, 1);
  t.regex(warnings[0]!, /no progress or checkpoint hook \(no checkpoints are written\).*customHooks/);
});
