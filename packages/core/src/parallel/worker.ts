/**
 * A data-parallel rank >= 1 (a worker thread started by DataParallelGroup). It builds the same
 * model, optimizer and everyRank hooks as rank 0 from the same config on its own tfjs backend,
 * takes rank 0's state at `begin`, then for every `step` message trains on its share of the
 * batch, joining the collectives (synchronised batch norm, the gradient all-reduce) in the same
 * order as rank 0. Any failure aborts the group, so no rank waits for ever.
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backend/select-backend.js';
import { buildHooks, buildModel } from '../config/build-run.js';
import { DetkitError } from '../errors.js';
import { syncBatchNorm } from '../nn/batchnorm.js';
import { createOptimizer } from '../optim/create.js';
import type { Optimizer } from '../optim/optimizer.js';
import { loadPlugins } from '../registry/plugins.js';
import { createRegistry } from '../registry/registry.js';
import { createServices } from '../registry/services.js';
import type { Logger } from '../registry/types.js';
import type { Hook, RunState } from '../runner/hook.js';
import { HookList } from '../runner/hook-list.js';
import { forwardSteps } from '../runner/model.js';
import { trainStep } from '../runner/train-step.js';
import { createConsoleLogger } from '../util/logger.js';
import { createRng } from '../util/rng.js';
import { Collective } from './collective.js';
import { GradientAllReduce, paramSlots } from './grad-reduce.js';
import { describeError, fromWire, toWire, type FromWorker, type ToWorker, type WorkerInit } from './protocol.js';
import { batchFromShard } from './shard.js';
import { threadCpuMs } from './thread-cpu.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (m: FromWorker) => port.postMessage(m);
const collective = new Collective(init.rank, init.mem, init.timeoutMs);
let failed = false;

function fail(e: unknown): void {
  const { code, message } = describeError(e);
  // Rank 0 learns of it at its next collective (the abort wakes it) or next scatter (this message).
  collective.abort(`rank ${init.rank} failed: ${code ? `[${code}] ` : ''}${message}`);
  if (!failed) send({ type: 'error', rank: init.rank, code, message });
  failed = true;
}

/** Warnings and errors reach the console tagged with the rank; info is rank 0's to print. */
function rankLogger(): Logger {
  const base = createConsoleLogger();
  const tag = (m: string) => `[rank ${init.rank}] ${m}`;
  return { debug: (m) => base.debug(tag(m)), info: (m) => base.debug(tag(m)), warn: (m) => base.warn(tag(m)), error: (m) => base.error(tag(m)) };
}

async function setup() {
  const { config } = init;
  const logger = rankLogger();
  await selectBackend({ backend: init.backend, logger });
  const rng = createRng(config.seed);
  const registry = createRegistry(createServices({ logger, rng, backend: tf.getBackend() }).services);
  await loadPlugins(registry, init.plugins, { baseDir: init.pluginBaseDir });
  const model = await buildModel(config, registry);
  const params = model.trainableParameters();
  const mine = params.map(([n, v]) => `${n}[${v.shape}]`).join(',');
  const rank0 = init.params.map(([n, s]) => `${n}[${s}]`).join(',');
  if (mine !== rank0) throw new DetkitError('WORKER_FAILED', `the worker's model has other trainable parameters than rank 0's (${params.length} vs ${init.params.length}); is the config deterministic?`);
  const all = await buildHooks(config, registry, { skipVal: true });
  const hooks = new HookList(all.filter((h) => h.everyRank));
  for (const h of all) if (!h.everyRank) (h as Hook & { dispose?: () => void }).dispose?.();
  const optimizer = createOptimizer(config.train.optimizer, params);
  const reduce = new GradientAllReduce(collective, init.mem, paramSlots(params));
  const synced = syncBatchNorm(model, collective);
  model.train();
  return { config, model, params, hooks, optimizer, reduce, rng, synced };
}

type Rank = Awaited<ReturnType<typeof setup>>;

/** What hooks see on this rank: rank 0's position; stop, LR, checkpoints and evaluation belong to rank 0. */
function workerState(r: Rank, pos: { iter: number; epoch: number }): RunState {
  const rank0Only = (what: string) => () => {
    throw new DetkitError('INVALID_ARGUMENT', `${what} is rank 0's job; a hook running on every rank must call it only where state.replica.rank === 0`);
  };
  return {
    model: r.model,
    get iter() { return pos.iter; },
    get epoch() { return pos.epoch; },
    get lr() { return r.reduce.lr; },
    maxIters: r.config.train.maxIters,
    workDir: resolve(r.config.workDir),
    baseLr: r.config.train.optimizer.lr,
    stopRequested: false,
    requestStop: () => {}, // rank 0 decides when the run ends
    setLr: () => {}, // rank 0's learning rate arrives with the averaged gradients
    saveCheckpoint: rank0Only('saveCheckpoint'),
    evaluate: rank0Only('evaluate'),
    replica: collective,
  };
}

async function main(): Promise<void> {
  const r = await setup();
  const pos = { iter: 0, epoch: 0 };
  const state = workerState(r, pos);
  await r.hooks.beforeRun(state);
  // The optimizer applies rank 0's learning rate, known only once the gradients are reduced.
  const optimizer: Optimizer = {
    step: (grads) => r.optimizer.step(grads, r.reduce.lr),
    stateDict: () => r.optimizer.stateDict(),
    loadStateDict: (s) => r.optimizer.loadStateDict(s),
    dispose: () => r.optimizer.dispose(),
  };

  const handle = async (m: ToWorker): Promise<void> => {
    if (m.type === 'close') {
      for (const h of r.hooks.hooks) (h as Hook & { dispose?: () => void }).dispose?.();
      r.optimizer.dispose();
      r.model.dispose();
      process.exit(0);
    }
    if (failed) return;
    if (m.type === 'begin') {
      const model = fromWire(m.model);
      const opt = fromWire(m.optimizer);
      try {
        r.model.loadStateDict(model, { source: 'rank 0' });
        r.optimizer.loadStateDict(opt);
        for (const { name, tensors } of m.hooks) {
          const h = r.hooks.hooks.find((x) => x.name === name);
          const t = fromWire(tensors);
          h?.loadStateTensors?.(t);
          tf.dispose([...t.values()]);
        }
        const rng = r.rng as { setState?: (s: unknown) => void };
        if (m.rngState !== undefined) rng.setState?.(m.rngState);
      } finally {
        tf.dispose([...model.values(), ...opt.values()]);
      }
      send({ type: 'begun', rank: init.rank });
    } else if (m.type === 'step') {
      pos.iter = m.iter;
      pos.epoch = m.epoch;
      const batch = batchFromShard(m.shard);
      try {
        await r.hooks.beforeIter(state, batch);
        const t0 = performance.now();
        // The runner's step, as rank 0 takes it: forward and the hooks' terms as ForwardSteps (host reads asynchronous).
        const lossSteps = function* () {
          const forward = yield* forwardSteps(r.model, batch);
          return yield* r.hooks.collectLossSteps(state, batch, forward);
        };
        const outcome = await trainStep(r.params, lossSteps, optimizer, 0, r.config.train.clipGradNorm, r.reduce.reducer());
        pos.iter = m.iter + 1;
        await r.hooks.afterIter(state, { iter: pos.iter, epoch: m.epoch, lr: r.reduce.lr, ...outcome, stepMs: performance.now() - t0, dataMs: 0 });
      } finally {
        batch.images.dispose();
        batch.masks.dispose();
      }
    } else if (m.type === 'snapshot') {
      send({ type: 'snapshot', rank: init.rank, snapshot: { rank: init.rank, model: toWire(r.model.stateDict()), optimizer: toWire(r.optimizer.stateDict()) } });
    } else if (m.type === 'stats') {
      send({ type: 'stats', rank: init.rank, stats: { rank: init.rank, numTensors: tf.memory().numTensors, waits: { ...collective.waits }, threadCpuMs: threadCpuMs() } });
    }
  };

  // One message at a time, in order: steps must meet rank 0's collectives in sequence.
  let queue = Promise.resolve();
  port.on('message', (m: ToWorker) => {
    queue = queue.then(() => handle(m)).catch(fail);
  });
  send({ type: 'ready', rank: init.rank, hooks: r.hooks.hooks.map((h) => h.name), syncedBatchNorms: r.synced });
}

process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
main().catch(fail);
