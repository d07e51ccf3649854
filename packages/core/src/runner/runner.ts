import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as tf from '@tensorflow/tfjs-core';
import { Subject, type Observable } from 'rxjs';
import { registerTfjsGradients } from '../backend/gradients.js';
import { loadCheckpoint, saveCheckpoint } from '../checkpoint/checkpoint.js';
import type { Batch } from '../data/types.js';
import { DetkitError, isDetkitError } from '../errors.js';
import { createOptimizer } from '../optim/index.js';
import { SINGLE_REPLICA } from '../parallel/replica.js';
import type { Optimizer } from '../optim/optimizer.js';
import { divergedAt } from './diverged.js';
import { predictAll } from './evaluation.js';
import type { RunnerEvent } from './events.js';
import type { ForwardSteps } from './forward-steps.js';
import type { IterInfo, Metrics, RunState } from './hook.js';
import { hashConfig } from './config-hash.js';
import { HookList } from './hook-list.js';
import { forwardSteps, type LossTerms } from './model.js';
import type { RunnerOptions } from './options.js';
import { installInterruptHandler } from './signals.js';
import { trainStep } from './train-step.js';
import { checkResumeConfig, formatChanges } from './training-config.js';

export interface TrainResult {
  /** Iterations completed. */
  iter: number;
  /** True when the run ended early (a hook's requestStop, Ctrl-C or SIGTERM). */
  stopped: boolean;
  reason?: string;
}

/** The Rng implementations that can report/restore their stream position (SeededRng). */
interface StatefulRng {
  getState(): unknown;
  setState(s: unknown): void;
}

/**
 * The training loop: data -> beforeIter -> [forward + hook loss terms -> backward] -> clip ->
 * step -> afterIter, in epochs over `options.train`, with hooks by priority and every hook
 * point mirrored on `events$`.
 *
 * Reproducibility: an epoch's batches are `train.batches(epoch)` (the source makes them a pure
 * function of seed and epoch); a checkpoint stores (iter, epoch, batches consumed in the epoch,
 * Rng state), and resuming skips the consumed batches, so an interrupted and resumed run ends
 * with the same parameters as an uninterrupted one. The learning rate is reset to `baseLr`
 * before each iteration's `beforeIter` hooks, so schedules are functions of the iteration
 * and compose (a schedule sets base*f, a warm-up multiplies what it finds).
 */
export class Runner {
  readonly events$: Observable<RunnerEvent>;
  readonly state: RunState;
  private readonly events = new Subject<RunnerEvent>();
  private readonly hooks: HookList;
  /** The latest validation metrics, recorded in every checkpoint written after them. */
  private lastEval?: { iter: number; metrics: Metrics };
  private readonly optimizer: Optimizer;
  private readonly params: Array<[string, tf.Variable]>;
  private iter = 0;
  private epoch = 0;
  /** Batches of the current epoch already consumed. */
  private epochIter = 0;
  private lr: number;
  private stopReason: string | undefined;
  private interrupted = false;

  constructor(private readonly options: RunnerOptions) {
    if (!Number.isInteger(options.maxIters) || options.maxIters < 0) {
      throw new DetkitError('INVALID_ARGUMENT', `RunnerOptions.maxIters must be a non-negative integer, got ${options.maxIters}`);
    }
    this.events$ = this.events.asObservable();
    this.hooks = new HookList(options.hooks);
    this.params = options.model.trainableParameters();
    this.optimizer = createOptimizer(options.optimizer, this.params);
    this.lr = options.optimizer.lr;
    this.state = this.makeState();
  }

  private makeState(): RunState {
    const self = this;
    return {
      get model() { return self.options.model; },
      get iter() { return self.iter; },
      get maxIters() { return self.options.maxIters; },
      get epoch() { return self.epoch; },
      get lr() { return self.lr; },
      get workDir() { return self.options.workDir; },
      get stopRequested() { return self.stopReason !== undefined; },
      get baseLr() { return self.options.optimizer.lr; },
      get events$() { return self.events$; },
      get replica() { return self.options.parallel?.replica ?? SINGLE_REPLICA; },
      requestStop: (reason: string) => {
        self.stopReason ??= reason;
      },
      setLr: (lr: number) => {
        if (!(Number.isFinite(lr) && lr >= 0)) throw new DetkitError('INVALID_ARGUMENT', `setLr: learning rate must be finite and >= 0, got ${lr}`);
        self.lr = lr;
      },
      saveCheckpoint: async (path: string) => void (await self.saveCheckpoint(path)),
      evaluate: () => self.evaluate(),
    };
  }

  private emit(e: RunnerEvent): void {
    this.events.next(e);
  }

  /** Resolves `path` against workDir, writes a full resumable checkpoint, emits `checkpoint`. */
  async saveCheckpoint(path: string): Promise<string> {
    const full = isAbsolute(path) ? path : join(this.options.workDir, path);
    await mkdir(dirname(full), { recursive: true });
    const hookTensors = new Map<string, Map<string, tf.Tensor>>();
    for (const h of this.hooks.hooks) {
      const t = h.stateTensors?.();
      if (t && t.size > 0) hookTensors.set(h.name, t);
    }
    const rng = this.options.services.rng as Partial<StatefulRng>;
    await saveCheckpoint(full, {
      model: this.options.model,
      optimizer: this.optimizer,
      iter: this.iter,
      epoch: this.epoch,
      epochIter: this.epochIter,
      hookTensors,
      meta: {
        seed: this.options.services.rng.seed,
        rngState: rng.getState?.(),
        ...(this.options.trainingConfig ? { config: this.options.trainingConfig, configHash: hashConfig(this.options.trainingConfig) } : {}),
        // The latest evaluation travels with the weights (export, the web page show it).
        ...(this.lastEval ? { extra: { metrics: this.lastEval.metrics, metricsIter: this.lastEval.iter } } : {}),
      },
    }).catch((e: unknown) => {
      throw divergedAt(e, this.iter);
    });
    this.emit({ type: 'checkpoint', iter: this.iter, path: full });
    return full;
  }

  /** Restores model, optimizer, hook state, position and Rng state from `path`. */
  private async resume(path: string): Promise<void> {
    const ck = await loadCheckpoint(path);
    try {
      if (this.options.trainingConfig) {
        const changes = checkResumeConfig(path, ck.meta, this.options.trainingConfig, this.options.allowConfigChange);
        if (!changes) this.log('warn', `Resuming from ${path}: written before detkit recorded training configs, so not checked against this run's`);
        else if (changes.length > 0) this.log('warn', `Resuming from ${path} under a changed config (allowed):\n${formatChanges(changes)}`);
      }
      this.options.model.loadStateDict(ck.model, { source: path });
      this.optimizer.loadStateDict(ck.optimizer);
      for (const h of this.hooks.hooks) {
        const saved = ck.hooks.get(h.name);
        if (saved && h.loadStateTensors) h.loadStateTensors(saved);
        else if (h.stateTensors && !saved) this.log('warn', `Resuming from ${path}: no saved state for hook '${h.name}'`);
      }
      const rng = this.options.services.rng as Partial<StatefulRng>;
      if (ck.meta.rngState !== undefined && rng.setState) rng.setState(ck.meta.rngState);
      this.iter = ck.meta.iter;
      this.epoch = ck.meta.epoch;
      this.epochIter = ck.meta.epochIter;
      // A checkpoint taken on an epoch's last batch resumes at the start of the next epoch.
      if (this.epochIter >= this.options.train.length) {
        this.epoch += 1;
        this.epochIter = 0;
      }
      this.log('info', `Resumed from ${path} at iteration ${this.iter} (epoch ${this.epoch}, batch ${this.epochIter})`);
    } finally {
      ck.dispose();
    }
  }

  private log(level: 'info' | 'warn' | 'error', message: string): void {
    this.options.services.logger[level](message);
    this.emit({ type: 'log', level, message });
  }

  async train(): Promise<TrainResult> {
    const { options } = this;
    await registerTfjsGradients();
    await mkdir(options.workDir, { recursive: true });
    if (options.resumeFrom) await this.resume(options.resumeFrom);
    const removeHandler =
      options.handleSignals ?? true
        ? installInterruptHandler((signal) => {
            this.interrupted = true;
            this.state.requestStop(`interrupted (${signal})`);
          }, options.services.logger)
        : () => {};
    try {
      options.model.train();
      this.emit({ type: 'beforeRun', iter: this.iter, maxIters: options.maxIters, epoch: this.epoch });
      await this.hooks.beforeRun(this.state);
      await options.parallel?.begin({ model: options.model, optimizer: this.optimizer, hooks: this.hooks.hooks, rngState: (options.services.rng as Partial<StatefulRng>).getState?.() });
      await this.loop();
      if (this.interrupted) await this.saveCheckpoint('latest.safetensors');
      const stopped = this.stopReason !== undefined;
      this.emit({ type: 'afterRun', iter: this.iter, epoch: this.epoch, stopped, reason: this.stopReason });
      await this.hooks.afterRun(this.state);
      return { iter: this.iter, stopped, reason: this.stopReason };
    } catch (e) {
      const named = isDetkitError(e) && e.details?.iter !== undefined;
      this.log('error', named ? (e as Error).message : `Training failed at iteration ${this.iter}: ${(e as Error).message}`);
      throw e;
    } finally {
      removeHandler();
    }
  }

  private async loop(): Promise<void> {
    const { options, hooks, state } = this;
    let batches: AsyncIterator<Batch> | undefined;
    while (this.iter < options.maxIters && this.stopReason === undefined) {
      if (!batches) {
        batches = await this.startEpoch();
      }
      const t0 = performance.now();
      const next = await batches.next();
      const dataMs = performance.now() - t0;
      if (next.done) {
        if (this.epochIter === 0) {
          throw new DetkitError('DATASET_INVALID', `The training batch source yielded no batches in epoch ${this.epoch}`);
        }
        await this.endEpoch(batches);
        batches = undefined;
        continue;
      }
      // Data-parallel: the other ranks get their shares now; this rank trains on its own.
      const batch = options.parallel ? options.parallel.scatter(next.value, { iter: this.iter, epoch: this.epoch }) : next.value;
      let info: IterInfo;
      try {
        this.lr = state.baseLr;
        this.emit({ type: 'beforeIter', iter: this.iter, epoch: this.epoch });
        await hooks.beforeIter(state, batch);
        const t1 = performance.now();
        const outcome = await trainStep(this.params, () => this.lossSteps(batch), this.optimizer, this.lr, options.clipGradNorm, options.parallel?.reducer(this.lr));
        info = { iter: this.iter + 1, epoch: this.epoch, lr: this.lr, ...outcome, stepMs: performance.now() - t1, dataMs };
      } catch (e) {
        throw divergedAt(e, this.iter + 1);
      } finally {
        batch.images.dispose();
        batch.masks.dispose();
      }
      this.iter += 1;
      this.epochIter += 1;
      this.emit({ type: 'afterIter', ...info });
      await hooks.afterIter(state, info);
      // Everything above may resolve through microtasks only; yield to the event loop once
      // per iteration so signals (Ctrl-C), timers and progress output get their turn.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.epochIter >= options.train.length) {
        await this.endEpoch(batches);
        batches = undefined;
      }
    }
    await batches?.return?.();
  }

  /** The step's loss terms: the model's forward, then the hooks' terms (both may pause for host reads). */
  private *lossSteps(batch: Batch): ForwardSteps<LossTerms> {
    const forward = yield* forwardSteps(this.options.model, batch);
    this.emit({ type: 'afterForward', iter: this.iter, epoch: this.epoch });
    return yield* this.hooks.collectLossSteps(this.state, batch, forward);
  }

  /** Opens the current epoch's batches, skipping those a resumed run already consumed. */
  private async startEpoch(): Promise<AsyncIterator<Batch>> {
    this.emit({ type: 'beforeEpoch', epoch: this.epoch, iter: this.iter });
    await this.hooks.beforeEpoch(this.state);
    const it = this.options.train.batches(this.epoch)[Symbol.asyncIterator]();
    for (let i = 0; i < this.epochIter; i++) {
      const skipped = await it.next();
      if (skipped.done) break;
      skipped.value.images.dispose();
      skipped.value.masks.dispose();
    }
    return it;
  }

  private async endEpoch(batches: AsyncIterator<Batch>): Promise<void> {
    await batches.return?.();
    this.emit({ type: 'afterEpoch', epoch: this.epoch, iter: this.iter });
    await this.hooks.afterEpoch(this.state);
    this.epoch += 1;
    this.epochIter = 0;
  }

  /**
   * Predicts over the validation source (eval mode, a hook's evaluation weights swapped in if
   * any), scores with the evaluator, emits `afterEval` and runs the afterEval hooks. Returns {}
   * without events when there is no validation data.
   */
  async evaluate(): Promise<Metrics> {
    const val = this.options.val;
    if (!val) return {};
    const detections = await predictAll(this.options.model, val.source, this.hooks.evalWeights());
    const metrics = await val.evaluator.evaluate(detections, val.dataset);
    this.lastEval = { iter: this.iter, metrics };
    this.emit({ type: 'afterEval', iter: this.iter, epoch: this.epoch, metrics });
    await this.hooks.afterEval(this.state, metrics);
    return metrics;
  }

  /** Frees the optimizer state and completes `events$`. The model belongs to the caller. */
  dispose(): void {
    this.optimizer.dispose();
    this.events.complete();
  }
}
