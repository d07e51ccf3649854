import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportWeights, loadCheckpoint, loadModelWeights, readCheckpointMeta, saveCheckpoint, saveModelOnly } from '../src/checkpoint/checkpoint.js';
import { readSafetensors } from '../src/checkpoint/safetensors.js';
import { isDetkitError } from '../src/errors.js';
import type { Optimizer } from '../src/optim/optimizer.js';
import type { Hook } from '../src/runner/hook.js';
import type { RunnerOptions } from '../src/runner/options.js';
import { Runner } from '../src/runner/runner.js';
import { paramValues, recordingLogger, ToyConvNet, ToySource, toyServices } from './toy-model.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

const tmp = () => mkdtempSync(join(tmpdir(), 'detkit-ckpt-'));

/** An optimizer stand-in holding fixed state, to check the optim.* namespace round trip. */
function fakeOptimizer(state: Map<string, tf.Tensor>): Optimizer {
  return { step() {}, stateDict: () => state, loadStateDict() {}, dispose: () => state.forEach((t) => t.dispose()) };
}

test.serial('checkpoint round trip: model, optimizer, hook state, metadata', async (t) => {
  const dir = tmp();
  const model = new ToyConvNet(3);
  const optim = fakeOptimizer(new Map<string, tf.Tensor>([['exp_avg/head', tf.fill([8, 1], 0.5)], ['step', tf.scalar(12, 'int32')]]));
  const ema = new Map<string, tf.Tensor>([['head', tf.fill([8, 1], 2)]]);
  const before = tf.memory().numTensors;
  const path = join(dir, 'a.safetensors');
  await saveCheckpoint(path, { model, optimizer: optim, iter: 12, epoch: 2, epochIter: 3, hookTensors: new Map([['ema', ema]]), meta: { seed: 5, configHash: 'abc' } });
  t.deepEqual(readdirSync(dir), ['a.safetensors'], 'no temp file left');

  const ck = await loadCheckpoint(path);
  t.like(ck.meta, { iter: 12, epoch: 2, epochIter: 3, seed: 5, configHash: 'abc', detkitVersion: '0.1.0', hooks: ['ema'] });
  t.deepEqual([...ck.optimizer.keys()].sort(), ['exp_avg/head', 'step']);
  t.is(ck.optimizer.get('step')!.dtype, 'int32');
  t.deepEqual(Array.from(ck.hooks.get('ema')!.get('head')!.dataSync()), new Array(8).fill(2));
  const fresh = new ToyConvNet(99);
  t.notDeepEqual(paramValues(fresh), paramValues(model));
  fresh.loadStateDict(ck.model);
  t.deepEqual(paramValues(fresh), paramValues(model));
  ck.dispose();
  fresh.dispose();
  t.is(tf.memory().numTensors, before, 'loading leaks nothing after dispose');
  model.dispose();
  optim.dispose();
  ema.forEach((e) => e.dispose());
});

test.serial('a truncated checkpoint is rejected with CHECKPOINT_CORRUPT and nothing is loaded', async (t) => {
  const dir = tmp();
  const src = new ToyConvNet(3);
  const path = join(dir, 'ck.safetensors');
  await saveCheckpoint(path, { model: src, iter: 4, epoch: 0 });
  truncateSync(path, Math.floor(statSync(path).size / 2));
  const before = tf.memory().numTensors;
  const err = await t.throwsAsync(loadCheckpoint(path));
  t.true(isDetkitError(err, 'CHECKPOINT_CORRUPT'), String(err));
  t.is(tf.memory().numTensors, before);

  const model = new ToyConvNet(8);
  const values = paramValues(model);
  const runner = new Runner({
    model,
    train: new ToySource(2, 2, 1),
    hooks: [],
    optimizer: { type: 'sgd', lr: 0.1 },
    maxIters: 3,
    workDir: dir,
    resumeFrom: path,
    services: toyServices(),
    handleSignals: false,
  });
  const err2 = await t.throwsAsync(runner.train());
  t.true(isDetkitError(err2, 'CHECKPOINT_CORRUPT'));
  t.deepEqual(paramValues(model), values, 'model untouched');
  runner.dispose();
  model.dispose();
  src.dispose();
});

test.serial('model-only weights: bare names, not accepted as a resumable checkpoint', async (t) => {
  const dir = tmp();
  const model = new ToyConvNet(3);
  const wPath = join(dir, 'w.safetensors');
  await saveModelOnly(wPath, model);
  const header = readFileSync(wPath).subarray(8, 200).toString();
  t.regex(header, /"conv1"/);
  const err = await t.throwsAsync(loadCheckpoint(wPath));
  t.true(isDetkitError(err, 'CHECKPOINT_CORRUPT'));
  t.regex(err!.message, /not a detkit checkpoint/);

  const ckPath = join(dir, 'ck.safetensors');
  await saveCheckpoint(ckPath, { model, iter: 1, epoch: 0 });
  for (const p of [wPath, ckPath]) {
    const w = await loadModelWeights(p);
    t.deepEqual([...w.keys()].sort(), ['bias', 'conv1', 'conv2', 'head']);
    w.forEach((x) => x.dispose());
  }
  // Garbage in the metadata is corrupt, not a crash.
  writeFileSync(join(dir, 'junk.safetensors'), Buffer.from('garbage'));
  t.true(isDetkitError(await t.throwsAsync(loadCheckpoint(join(dir, 'junk.safetensors'))), 'CHECKPOINT_CORRUPT'));
  model.dispose();
});

/** Trains the toy model (jittered by the run's Rng) to maxIters, optionally stopping at stopAt. */
async function run(dir: string, opts: { maxIters: number; stopAt?: number; resumeFrom?: string; trainingConfig?: Record<string, unknown>; allowConfigChange?: boolean }) {
  const logger = recordingLogger();
  const services = { ...toyServices(42), logger };
  const model = new ToyConvNet(opts.resumeFrom ? 1234 : 3); // a resumed run must not depend on its init
  model.jitter = services.rng;
  const counter = { n: 0 };
  const stopper: Hook = {
    name: 'stopper',
    afterIter: (s) => {
      counter.n += 1;
      if (s.iter === opts.stopAt) s.requestStop('test stop');
    },
    afterRun: async (s) => {
      if (s.stopRequested) await s.saveCheckpoint('stopped.safetensors');
    },
  };
  const options: RunnerOptions = {
    model,
    train: new ToySource(5, 3, 11),
    hooks: [stopper],
    optimizer: { type: 'adamw', lr: 0.01, weightDecay: 0.01 },
    clipGradNorm: 1,
    maxIters: opts.maxIters,
    workDir: dir,
    resumeFrom: opts.resumeFrom,
    trainingConfig: opts.trainingConfig,
    allowConfigChange: opts.allowConfigChange,
    services,
    handleSignals: false,
  };
  const runner = new Runner(options);
  try {
    const result = await runner.train();
    return { result, values: paramValues(model), itersRun: counter.n, logs: logger.logs };
  } finally {
    runner.dispose();
    model.dispose();
  }
}

for (const k of [7, 5]) {
  test.serial(`resume after a stop at iteration ${k} gives bit-identical parameters`, async (t) => {
    const N = 12;
    const full = await run(tmp(), { maxIters: N });
    const dir = tmp();
    const first = await run(dir, { maxIters: N, stopAt: k });
    t.deepEqual(first.result, { iter: k, stopped: true, reason: 'test stop' });
    const ckPath = join(dir, 'stopped.safetensors');
    t.true(existsSync(ckPath));
    const resumed = await run(dir, { maxIters: N, resumeFrom: ckPath });
    t.deepEqual(resumed.result, { iter: N, stopped: false, reason: undefined });
    t.is(resumed.itersRun, N - k);
    t.deepEqual(resumed.values, full.values);
  });
}

test.serial('a resume under a different training config is refused naming the keys; allowConfigChange logs them and goes on', async (t) => {
  const dir = tmp();
  const trained = { seed: 42, distill: { weights: { cls: 0.3, l1: 1.5 } } };
  await run(dir, { maxIters: 12, stopAt: 5, trainingConfig: trained });
  const ckPath = join(dir, 'stopped.safetensors');
  t.deepEqual((await readCheckpointMeta(ckPath)).config, trained, 'the header records the config');

  const changed = { seed: 42, distill: { weights: { cls: 1, l1: 1.5 } } };
  const err = await t.throwsAsync(run(dir, { maxIters: 12, resumeFrom: ckPath, trainingConfig: changed }));
  t.true(isDetkitError(err, 'RESUME_CONFIG_CHANGED'), String(err));
  t.regex(err!.message, /stopped\.safetensors/);
  t.regex(err!.message, /distill\.weights\.cls: 0\.3 -> 1\n/);
  t.notRegex(err!.message, /l1/, 'only the changed key');

  const allowed = await run(dir, { maxIters: 12, resumeFrom: ckPath, trainingConfig: changed, allowConfigChange: true });
  t.is(allowed.itersRun, 7);
  t.true(allowed.logs.some((l) => l.level === 'warn' && /changed config \(allowed\)/.test(l.message) && /distill\.weights\.cls: 0\.3 -> 1/.test(l.message)));

  // The same config resumes silently and bit-identically (the other resume tests pass none).
  const full = await run(tmp(), { maxIters: 12, trainingConfig: trained });
  const same = await run(dir, { maxIters: 12, resumeFrom: ckPath, trainingConfig: trained });
  t.deepEqual(same.values, full.values);
  t.false(same.logs.some((l) => l.level === 'warn'));
});

test.serial('a checkpoint written before configs were recorded resumes with a warning that it was not checked', async (t) => {
  const dir = tmp();
  await run(dir, { maxIters: 12, stopAt: 5 });
  const resumed = await run(dir, { maxIters: 12, resumeFrom: join(dir, 'stopped.safetensors'), trainingConfig: { seed: 1 } });
  t.is(resumed.itersRun, 7);
  t.true(resumed.logs.some((l) => l.level === 'warn' && /not checked/.test(l.message)));
});

test.serial('exportWeights keeps the model tensors of a checkpoint and drops optimizer and hook state', async (t) => {
  const dir = tmp();
  const model = new ToyConvNet(3);
  const optim = fakeOptimizer(new Map<string, tf.Tensor>([['step', tf.scalar(7, 'int32')]]));
  const ck = join(dir, 'ck.safetensors');
  await saveCheckpoint(ck, { model, optimizer: optim, iter: 7, epoch: 0, hookTensors: new Map([['ema', new Map([['head', tf.fill([8, 1], 2)]])]]) });
  const out = join(dir, 'weights.safetensors');
  const before = tf.memory().numTensors;
  t.deepEqual(await exportWeights(ck, out), { tensors: model.stateDict().size, iter: 7 });
  t.is(tf.memory().numTensors, before, 'export leaks nothing');
  const { tensors, metadata } = await readSafetensors(out);
  t.is(metadata?.format, 'detkit-weights/1');
  t.is(metadata?.iter, '7');
  t.deepEqual([...tensors.keys()].sort(), [...model.stateDict().keys()].sort(), 'bare parameter names, nothing else');
  tensors.forEach((x) => x.dispose());
  const fresh = new ToyConvNet(99);
  const weights = await loadModelWeights(out);
  fresh.loadStateDict(weights);
  t.deepEqual(paramValues(fresh), paramValues(model));
  weights.forEach((x) => x.dispose());
  fresh.dispose();
  model.dispose();
  optim.dispose();
});

/** Rewrites a safetensors file's header with `edit` (data section untouched). */
function editHeader(path: string, edit: (h: Record<string, { dtype: string; data_offsets: number[] }>) => void): void {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  edit(header);
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([len, Buffer.from(json), buf.subarray(8 + n)]));
}

test.serial('a float parameter stored as I32 is refused naming the tensor and both dtypes; nothing is assigned', async (t) => {
  const dir = tmp();
  const model = new ToyConvNet(3);
  const path = join(dir, 'i32.safetensors');
  await saveCheckpoint(path, { model, iter: 1, epoch: 0 });
  editHeader(path, (h) => void (h['model.head']!.dtype = 'I32'));
  const before = paramValues(model);
  const ck = await loadCheckpoint(path);
  const e = t.throws(() => model.loadStateDict(ck.model, { source: path }));
  ck.dispose();
  t.true(isDetkitError(e, 'STATE_DICT_MISMATCH'));
  t.regex(e!.message, /wrong dtypes: head: expected float32 got int32/);
  t.deepEqual(paramValues(model), before, 'nothing assigned');
  model.dispose();
});

test.serial('NaN/Inf weights: refused at load (checkpoint, weights file, export) naming the tensor; never written by a save', async (t) => {
  const dir = tmp();
  const model = new ToyConvNet(3);
  const good = join(dir, 'good.safetensors');
  await saveCheckpoint(good, { model, iter: 5, epoch: 0 });
  const goodBytes = readFileSync(good);
  model.conv2.assign(tf.tidy(() => tf.where(tf.equal(tf.range(0, 288).reshape([3, 3, 4, 8]), 7), tf.scalar(NaN), model.conv2 as tf.Tensor)));
  const before = tf.memory().numTensors;
  const save = await t.throwsAsync(saveCheckpoint(good, { model, iter: 6, epoch: 0 }));
  t.true(isDetkitError(save, 'LOSS_NOT_FINITE'));
  t.regex(save!.message, /not writing .*good\.safetensors: tensor 'model\.conv2' holds 1 non-finite value of 288 \(first: NaN\)/);
  t.true(readFileSync(good).equals(goodBytes), 'the previous checkpoint is untouched');
  await t.throwsAsync(saveModelOnly(join(dir, 'w.safetensors'), model), { message: /tensor 'conv2' holds 1 non-finite/ });
  t.deepEqual(readdirSync(dir), ['good.safetensors'], 'no file, no temp file');

  // A file written by something else (or before this check): NaN in the model namespace.
  const { writeSafetensors } = await import('../src/checkpoint/safetensors.js');
  const bad = join(dir, 'bad.safetensors');
  const sd = new Map([...model.stateDict()].map(([k, v]) => [`model.${k}`, v] as [string, tf.Tensor]));
  await writeSafetensors(bad, sd, { format: 'detkit-checkpoint/1', detkit: JSON.stringify({ format: 'detkit-checkpoint/1', iter: 7, epoch: 0, epochIter: 0, hooks: [], detkitVersion: 'x' }) });
  for (const load of [() => loadCheckpoint(bad), () => loadModelWeights(bad), () => exportWeights(bad, join(dir, 'out.safetensors'))]) {
    const e = await t.throwsAsync(load());
    t.true(isDetkitError(e, 'CHECKPOINT_CORRUPT'));
    t.regex(e!.message, /bad\.safetensors: tensor '(model\.)?conv2' holds 1 non-finite value of 288 \(first: NaN\)/);
  }
  t.false(existsSync(join(dir, 'out.safetensors')));
  t.is(tf.memory().numTensors, before, 'no tensor leaked');
  model.dispose();
});
