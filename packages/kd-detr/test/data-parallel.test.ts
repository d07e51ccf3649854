import { join } from 'node:path';
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import {
  HookList,
  Runner,
  SINGLE_REPLICA,
  trainStep,
  type Batch,
  type DataParallelGroup,
  type DetkitConfig,
  type Hook,
  type Optimizer,
  type ReplicaContext,
  type ReplicaSnapshot,
  type RunnerOptions,
  type RunState,
  type StepReducer,
  type TrainableModel,
} from '@detkit/core';
import { cloneBatch, differences, dpConfig, globalBatch, rank0, source, startGroup, useWasm } from './dp-helpers.js';

test.before(useWasm);

/** A RunState for driving hooks by hand (no Runner): iteration 0, the given replica. */
function handState(model: TrainableModel, replica: ReplicaContext): RunState {
  return {
    model, iter: 0, maxIters: 1, epoch: 0, lr: 1e-3, workDir: '.', baseLr: 1e-3, stopRequested: false, replica,
    requestStop() {}, setLr() {}, saveCheckpoint: async () => {}, evaluate: async () => ({}),
  };
}

/** One step's gradients after clipping at 0.1 (DETR's), loss terms and norm (the optimizer records instead of updating). */
async function gradients(model: TrainableModel, hooks: readonly Hook[], batch: Batch, replica: ReplicaContext, reduce?: StepReducer) {
  const list = new HookList(hooks);
  const state = handState(model, replica);
  await list.beforeRun(state);
  await list.beforeIter(state, batch);
  let grads = new Map<string, Float32Array>();
  const recorder: Optimizer = {
    // Clipping reaches the optimizer as a gradient scale (folded into the update): record the clipped gradient.
    step: (g, _lr, scale = 1) => void (grads = new Map([...g].map(([n, t]) => [n, (t.dataSync() as Float32Array).map((v) => v * scale)]))),
    stateDict: () => new Map(),
    loadStateDict() {},
    dispose() {},
  };
  model.train();
  const outcome = await trainStep(model.trainableParameters(), () => list.collectLosses(state, batch, model.forwardTrain(batch)), recorder, 1e-3, 0.1, reduce);
  await list.afterIter(state, { iter: 1, epoch: 0, lr: 1e-3, ...outcome, stepMs: 0, dataMs: 0 });
  tf.dispose([batch.images, batch.masks]);
  return { grads, losses: outcome.losses, gradNorm: outcome.gradNorm };
}

/**
 * How far `got` is from `ref` over all parameters: the L2 norm of the difference relative to
 * the reference's, and the largest element difference relative to the largest gradient element
 * (per-tensor ratios are meaningless here: some gradients are exactly zero in theory, e.g. a
 * key bias under softmax, and both sides hold float noise of 1e-10 there).
 */
function relativeErrors(got: Map<string, Float32Array>, ref: Map<string, Float32Array>): { l2: number; max: number; worst: string } {
  let d2 = 0;
  let r2 = 0;
  let dMax = 0;
  let rMax = 0;
  let worst = '';
  for (const [name, b] of ref) {
    const a = got.get(name)!;
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      d2 += d * d;
      r2 += b[i]! * b[i]!;
      rMax = Math.max(rMax, Math.abs(b[i]!));
      if (d > dMax) [dMax, worst] = [d, name];
    }
  }
  return { l2: Math.sqrt(d2 / r2), max: dMax / rMax, worst };
}

const sameGradients = test.macro(async (t, distill: Record<string, unknown>) => {
  const config = await dpConfig(distill);
  const single = await rank0(config);
  const batch = globalBatch(1);
  const ref = await gradients(single.model, single.hooks, cloneBatch(batch), SINGLE_REPLICA);

  const dp = await rank0(config); // same seed: same initial weights
  const group = await startGroup(config, dp.model, dp.hooks);
  try {
    await group.begin({ model: dp.model, optimizer: { step() {}, stateDict: () => new Map([['step', tf.scalar(0, 'int32')]]), loadStateDict() {}, dispose() {} }, hooks: dp.hooks });
    const shard = group.scatter(cloneBatch(batch), { iter: 0, epoch: 0 });
    t.is(shard.targets.length, 3);
    t.deepEqual(shard.global, { worldSize: 2, images: 5, boxes: batch.targets.reduce((s, x) => s + x.labels.length, 0) });
    const got = await gradients(dp.model, dp.hooks, shard, group.replica, group.reducer(1e-3));

    t.deepEqual([...got.grads.keys()].sort(), [...ref.grads.keys()].sort());
    const err = relativeErrors(got.grads, ref.grads);
    t.log(`relative gradient error over ${ref.grads.size} parameters: L2 ${err.l2.toExponential(2)}, max element ${err.max.toExponential(2)} (${err.worst})`);
    t.true(err.l2 <= 1e-5, `L2 ${err.l2}`);
    t.true(err.max <= 1e-5, `max ${err.max} at ${err.worst}`);
    t.true(Object.keys(ref.losses).some((k) => k.startsWith('kd-detr.kd_')), 'the KD terms took part');
    t.true(ref.gradNorm > 0.1, 'clipping took part');
    t.true(Math.abs(got.gradNorm - ref.gradNorm) <= 1e-5 * ref.gradNorm, `gradient norm ${got.gradNorm} vs ${ref.gradNorm}`);
    for (const [k, v] of Object.entries(ref.losses)) t.true(Math.abs(got.losses[k]! - v) <= 1e-5 * Math.max(1, Math.abs(v)), `loss ${k}: ${got.losses[k]} vs ${v}`);
  } finally {
    await group.close();
    tf.dispose(batch.images);
    tf.dispose(batch.masks);
  }
});

test.serial('2 ranks (shares of 3 and 2 images) give the single-process gradients of the global batch: synchronised BN, DETR num_boxes, KD-DETR normalisers, norm and clipping', sameGradients, {});
test.serial('the same with the hungarian-logits baseline and the KL normalised by points', sameGradients, { method: 'hungarian-logits', klNormalizer: 'points' });
test.serial('the same with the reference\'s gt-matched-logits baseline (pairs sharing a box, averaged over the global batch\'s boxes)', sameGradients, { method: 'gt-matched-logits' });

test.serial('2 workers through the Runner: 20 steps (an LR schedule on rank 0) leave every rank with the same bits, no rank leaks tensors, and a resumed 2-worker run ends identical', async (t) => {
  const config = await dpConfig({}, { maxIters: 20 });
  const a = await rank0(config);
  const group = await startGroup(config, a.model, a.hooks);
  const tensors: Array<[number, number, number]> = [];
  let finalA: ReplicaSnapshot | undefined;
  try {
    const probe: Hook = {
      name: 'probe',
      beforeIter: schedule,
      afterIter: async (s) => {
        if (s.iter === 15) await s.saveCheckpoint('mid.safetensors');
        if (s.iter === 5 || s.iter === 20) tensors.push([s.iter, tf.memory().numTensors, (await group.stats(1)).numTensors]);
      },
    };
    const runner = new Runner(runnerOptions(config, a, [...a.hooks, probe], group));
    t.is((await runner.train()).iter, 20);
    const [r0, r1] = [await group.snapshot(0), await group.snapshot(1)];
    t.deepEqual(differences(r0, r1), [], 'rank 1 differs from rank 0');
    t.true(r0.model.length > 100 && r0.optimizer.length > 100);
    finalA = r0;
    runner.dispose();
  } finally {
    await group.close();
  }
  t.is(tensors.length, 2);
  t.is(tensors[1]![1], tensors[0]![1], `rank 0 tensors at iterations 5 and 20: ${tensors.map((x) => x[1])}`);
  t.is(tensors[1]![2], tensors[0]![2], `rank 1 tensors at iterations 5 and 20: ${tensors.map((x) => x[2])}`);

  // Resume from iteration 15 with fresh ranks: the same bits at 20 on both.
  const b = await rank0(config);
  const again = await startGroup(config, b.model, b.hooks);
  try {
    const runner = new Runner({ ...runnerOptions(config, b, [...b.hooks, { name: 'probe', beforeIter: schedule }], again), resumeFrom: join(config.workDir, 'mid.safetensors') });
    t.is((await runner.train()).iter, 20);
    t.deepEqual(differences(await again.snapshot(0), finalA!), [], 'resumed rank 0 differs from the uninterrupted run');
    t.deepEqual(differences(await again.snapshot(1), finalA!), [], 'resumed rank 1 differs from the uninterrupted run');
    runner.dispose();
  } finally {
    await again.close();
  }
});

/** A learning-rate schedule on rank 0 only: the other ranks apply it through the all-reduce. */
const schedule = (s: RunState) => s.setLr(s.baseLr * (1 - s.iter / 40));

function runnerOptions(config: DetkitConfig, r: { registry: { services: RunnerOptions['services'] }; model: TrainableModel }, hooks: Hook[], parallel: DataParallelGroup): RunnerOptions {
  return {
    model: r.model,
    train: source(6, 4),
    hooks,
    optimizer: config.train.optimizer,
    maxIters: config.train.maxIters,
    clipGradNorm: config.train.clipGradNorm,
    workDir: config.workDir,
    services: r.registry.services,
    handleSignals: false,
    parallel,
  };
}

const failing = test.macro(async (t, rank: number) => {
  const config = await dpConfig({ method: 'none' }, { maxIters: 10 }, [{ type: 'test/fail', rank, iter: 2 }]);
  const r = await rank0(config);
  const group = await startGroup(config, r.model, r.hooks);
  const t0 = Date.now();
  try {
    const runner = new Runner(runnerOptions(config, r, r.hooks, group));
    const e = await t.throwsAsync(runner.train());
    t.regex(e!.message, new RegExp(`planned failure on rank ${rank}`));
    if (rank > 0) t.is((e as { code?: string }).code, 'WORKER_FAILED');
    runner.dispose();
  } finally {
    await group.close();
  }
  t.true(Date.now() - t0 < 60_000, 'no rank waited for a timeout');
});

test.serial('a worker failing inside the tape stops rank 0 at once with its message (WORKER_FAILED), and close() ends it', failing, 1);
test.serial('rank 0 failing: the run fails with its error, and close() wakes and ends the waiting worker', failing, 0);
