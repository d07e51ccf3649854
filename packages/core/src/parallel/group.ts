import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { DetkitConfig } from '../config/schema.js';
import type { Batch } from '../data/types.js';
import { DetkitError } from '../errors.js';
import { syncBatchNorm } from '../nn/batchnorm.js';
import type { Logger } from '../registry/types.js';
import type { Hook } from '../runner/hook.js';
import type { TrainableModel } from '../runner/model.js';
import type { StepReducer } from '../runner/train-step.js';
import { Collective, DEFAULT_BARRIER_TIMEOUT_MS } from './collective.js';
import { GradientAllReduce, paramSlots } from './grad-reduce.js';
import { everyRankHooks } from './hooks.js';
import { toWire, type FromWorker, type ReplicaSnapshot, type ReplicaStats, type ToWorker, type WorkerInit } from './protocol.js';
import type { BeginState, ParallelSeam } from './seam.js';
import { splitBatch } from './shard.js';
import { createSharedBuffers } from './shared-memory.js';
import { spawnWorker } from './spawn.js';
import { threadCpuMs } from './thread-cpu.js';

export interface DataParallelOptions {
  /** Ranks in all, this thread included (>= 2). */
  worldSize: number;
  /** The resolved config; workers build the model and everyRank hooks from it. */
  config: DetkitConfig;
  /** Module URLs (or specs) of every plugin this run loaded, in order. */
  plugins: readonly string[];
  pluginBaseDir: string;
  /** This process's tfjs backend (wasm or cpu); every worker selects the same. */
  backend: string;
  /** Rank 0's model and hooks (the runner's). */
  model: TrainableModel;
  hooks: readonly Hook[];
  logger: Logger;
  timeoutMs?: number;
}

/** How long `close` waits for a worker to exit on its own before terminating it. */
const EXIT_GRACE_MS = 5000;

/**
 * Data-parallel training, rank 0's side: starts worker threads (ranks 1..W-1), then, as the
 * runner's `parallel` seam, hands them rank 0's state, a share of every batch, and the gradient
 * all-reduce. Every rank runs its own optimizer on the averaged gradients, so parameters stay
 * bit-identical without broadcasting weights after `begin`. Always `close()` it (finally).
 */
export class DataParallelGroup implements ParallelSeam {
  readonly replica: Collective;
  private readonly reduce: GradientAllReduce;
  private readonly workers: Worker[] = [];
  private readonly exits: Promise<void>[] = [];
  private begun: BeginState | undefined;
  private readonly waiting = new Map<string, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private closed = false;

  private constructor(private readonly o: DataParallelOptions, init: Omit<WorkerInit, 'rank'>) {
    this.replica = new Collective(0, init.mem, init.timeoutMs);
    this.reduce = new GradientAllReduce(this.replica, init.mem, paramSlots(o.model.trainableParameters()));
  }

  /** Checks the hooks, shares memory, starts the workers and waits until each has built its model. */
  static async start(o: DataParallelOptions): Promise<DataParallelGroup> {
    if (!(Number.isInteger(o.worldSize) && o.worldSize >= 2)) throw new DetkitError('INVALID_ARGUMENT', `data-parallel: worldSize must be an integer >= 2, got ${o.worldSize}`);
    const kept = everyRankHooks(o.hooks);
    const params = o.model.trainableParameters();
    const init: Omit<WorkerInit, 'rank'> = {
      mem: createSharedBuffers(o.worldSize, params.map(([, v]) => v.size)),
      config: o.config,
      plugins: [...o.plugins],
      pluginBaseDir: o.pluginBaseDir,
      backend: o.backend,
      params: params.map(([n, v]) => [n, [...v.shape]]),
      timeoutMs: o.timeoutMs ?? DEFAULT_BARRIER_TIMEOUT_MS,
    };
    const group = new DataParallelGroup(o, init);
    const synced = syncBatchNorm(o.model, group.replica);
    try {
      const ready = [];
      for (let rank = 1; rank < o.worldSize; rank++) ready.push(group.spawn({ ...init, rank }, kept.map((h) => h.name)));
      await Promise.all(ready);
    } catch (e) {
      await group.close();
      throw e;
    }
    o.logger.info(
      `data-parallel: ${o.worldSize} ranks (this thread + ${o.worldSize - 1} worker thread${o.worldSize > 2 ? 's' : ''}, ${o.backend} each), ` +
        `gradients averaged in shared memory; ${synced > 0 ? `${synced} BatchNorm layers synchronised across ranks` : 'no BatchNorm to synchronise'}; ` +
        `hooks on every rank: ${kept.map((h) => h.name).join(', ') || 'none'}`,
    );
    return group;
  }

  /** Starts rank `init.rank` and waits until it has built everything; its everyRank hooks must be rank 0's. */
  private async spawn(init: WorkerInit, hooks: readonly string[]): Promise<void> {
    let worker: Worker;
    try {
      worker = spawnWorker(init);
    } catch (e) {
      if ((e as Error).name === 'DataCloneError') {
        throw new DetkitError('CONFIG_INVALID', `train.workers: the config cannot be sent to a worker thread (${(e as Error).message}); keep configs to plain data`, { key: 'train.workers' });
      }
      throw e;
    }
    worker.unref(); // keeps the process alive only while awaited (request); close() ends it
    this.workers.push(worker);
    this.exits.push(new Promise((resolve) => worker.once('exit', () => resolve())));
    const rank = init.rank;
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'error') {
        this.fail(new DetkitError('WORKER_FAILED', `data-parallel rank ${rank} failed: ${m.code ? `[${m.code}] ` : ''}${m.message}`, { rank }));
        return;
      }
      const key = `${m.type}:${m.rank}`;
      const w = this.waiting.get(key);
      this.waiting.delete(key);
      w?.resolve(m);
    });
    worker.on('error', (e) => this.fail(new DetkitError('WORKER_FAILED', `data-parallel rank ${rank} crashed: ${e.message}`, { rank }, { cause: e })));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new DetkitError('WORKER_FAILED', `data-parallel rank ${rank} exited (code ${code}) during training`, { rank }));
    });
    const ready = (await this.request(rank, undefined, 'ready')) as Extract<FromWorker, { type: 'ready' }>;
    if (ready.hooks.join() !== hooks.join()) {
      throw new DetkitError(
        'CONFIG_INVALID',
        `train.workers: rank ${rank} built the everyRank hooks [${ready.hooks.join(', ')}] from the config, rank 0 runs [${hooks.join(', ')}]: ` +
          'a hook that runs on every rank must come from the config (hooks, train.lrSchedule or distill), not be added in code',
        { key: 'train.workers' },
      );
    }
  }

  /** Records the first failure, wakes any rank waiting in a collective, and rejects pending requests. */
  private fail(e: Error): void {
    if (this.closed) return;
    this.failure ??= e;
    this.replica.abort(e.message);
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }

  private async request(rank: number, message: ToWorker | undefined, reply: FromWorker['type']): Promise<FromWorker> {
    if (this.failure) throw this.failure;
    const worker = this.workers[rank - 1]!;
    const p = new Promise<FromWorker>((resolve, reject) => this.waiting.set(`${reply}:${rank}`, { resolve, reject }));
    worker.ref(); // an awaited reply must keep the event loop alive
    try {
      if (message) worker.postMessage(message);
      return await p;
    } finally {
      worker.unref();
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
    this.replica.throwIfAborted();
  }

  async begin(state: BeginState): Promise<void> {
    this.begun = state;
    const hooks = state.hooks
      .filter((h) => h.everyRank && h.stateTensors)
      .map((h) => ({ name: h.name, tensors: toWire(h.stateTensors!()) }));
    const message: ToWorker = { type: 'begin', model: toWire(state.model.stateDict()), optimizer: toWire(state.optimizer.stateDict()), hooks, rngState: state.rngState };
    await Promise.all(this.workers.map((_, i) => this.request(i + 1, message, 'begun')));
  }

  scatter(batch: Batch, at: { iter: number; epoch: number }): Batch {
    if (this.failure || this.replica.failure()) {
      tf.dispose([batch.images, batch.masks]);
      this.throwIfFailed();
    }
    const { own, others } = splitBatch(batch, this.o.worldSize);
    others.forEach((shard, i) => {
      const m: ToWorker = { type: 'step', iter: at.iter, epoch: at.epoch, shard };
      this.workers[i]!.postMessage(m, [shard.images.buffer as ArrayBuffer, shard.masks.buffer as ArrayBuffer]);
    });
    return own;
  }

  reducer(lr: number): StepReducer {
    return this.reduce.reducer(lr);
  }

  /** Rank `rank`'s model and optimizer state (rank 0: this thread's, after `begin`), for checks and tests. */
  async snapshot(rank: number): Promise<ReplicaSnapshot> {
    if (rank === 0) return { rank: 0, model: toWire(this.o.model.stateDict()), optimizer: this.begun ? toWire(this.begun.optimizer.stateDict()) : [] };
    const m = await this.request(rank, { type: 'snapshot' }, 'snapshot');
    return (m as Extract<FromWorker, { type: 'snapshot' }>).snapshot;
  }

  /** Rank `rank`'s live tensors, barrier waits and thread CPU time (between steps). */
  async stats(rank: number): Promise<ReplicaStats> {
    if (rank === 0) return { rank: 0, numTensors: tf.memory().numTensors, waits: { ...this.replica.waits }, threadCpuMs: threadCpuMs() };
    const m = await this.request(rank, { type: 'stats' }, 'stats');
    return (m as Extract<FromWorker, { type: 'stats' }>).stats;
  }

  /**
   * Ends every worker: wakes any that waits in a collective (the abort flag), asks each to free
   * its tensors and exit, and terminates those still running after a grace period. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.replica.abort('rank 0 ended the run');
    syncBatchNorm(this.o.model, undefined); // the model trains alone again, if it trains at all
    await Promise.all(
      this.workers.map(async (w, i) => {
        const exited = this.exits[i]!;
        w.ref(); // wait for its exit
        try {
          w.postMessage({ type: 'close' } satisfies ToWorker);
        } catch {
          // already gone
        }
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), EXIT_GRACE_MS)));
        if ((await Promise.race([exited, late])) === 'late') await w.terminate();
        clearTimeout(timer);
      }),
    );
    for (const w of this.waiting.values()) w.reject(new DetkitError('WORKER_FAILED', 'data-parallel group closed'));
    this.waiting.clear();
  }
}
