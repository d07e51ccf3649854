import type { Batch } from '../data/types.js';
import type { ReplicaContext } from '../parallel/replica.js';
import type { ForwardSteps } from './forward-steps.js';
import type { ForwardResult, LossTerms, TrainableModel } from './model.js';

/** The named points of the training loop, in the order they first fire. */
export const HOOK_POINTS = [
  'beforeRun',
  'beforeEpoch',
  'beforeIter',
  'afterForward',
  'afterIter',
  'afterEpoch',
  'afterEval',
  'afterRun',
] as const;
export type HookPoint = (typeof HOOK_POINTS)[number];

/** Read-only view of the run that every hook receives. */
export interface RunState {
  readonly model: TrainableModel;
  /** Iterations completed so far (0 before the first step). */
  readonly iter: number;
  readonly maxIters: number;
  readonly epoch: number;
  /** Learning rate used for the current/last step. */
  readonly lr: number;
  readonly workDir: string;
  /** Set by a hook (or Ctrl-C) to end the run after the current iteration. */
  requestStop(reason: string): void;
  readonly stopRequested: boolean;
  /** LR schedule hooks set the learning rate for the next step here. */
  setLr(lr: number): void;
  /** The optimizer's configured base learning rate (schedules scale it). */
  readonly baseLr: number;
  /** Writes a full, resumable checkpoint (model, optimizer, iteration, hook state) atomically. */
  saveCheckpoint(path: string): Promise<void>;
  /** Runs the evaluation loop on the validation data; fires `afterEval`. Empty if no val data. */
  evaluate(): Promise<Metrics>;
  /** The run's event stream (same as `runner.events$`), for hooks that react to events. */
  readonly events$?: import('rxjs').Observable<import('./events.js').RunnerEvent>;
  /**
   * This process's rank in a data-parallel run (`train.workers`) and the collective that sums
   * numbers over ranks; the runner always sets it (`SINGLE_REPLICA` for one process).
   */
  readonly replica?: ReplicaContext;
}

export interface IterInfo {
  iter: number;
  epoch: number;
  lr: number;
  /** Loss terms as numbers (read after the step), including hook-contributed ones. */
  losses: Record<string, number>;
  totalLoss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Wall time of the step in ms (data excluded). */
  stepMs: number;
  /** Wall time waiting for data in ms. */
  dataMs: number;
}

export type Metrics = Record<string, number>;

/**
 * A hook attaches to named points of the loop. Lower `priority` runs first (default 50,
 * like MMEngine's NORMAL). All methods are optional.
 *
 * `afterForward` runs *inside* the gradient tape, synchronously: it may read the batch and
 * the model's forward outputs and return extra loss terms whose gradients flow into the
 * model (this is how distillation plugs in). It must not mutate the batch. A hook that needs
 * tensor values on the host returns ForwardSteps instead (`function*`, `yield` the tensors):
 * the runner reads them asynchronously with the tape paused.
 */
export interface Hook {
  readonly name: string;
  readonly priority?: number;
  /**
   * Data-parallel training (`train.workers` > 1): by default a hook runs on rank 0 only, the
   * main thread, which logs, evaluates and checkpoints. A hook that takes part in the step (adds
   * loss terms in `afterForward`, or prepares them in `beforeIter`, like a distillation hook) sets
   * `everyRank: true`: ranks >= 1 then build it from the same config and call its `beforeRun`,
   * `beforeIter`, `afterForward` and `afterIter` on their share of the batch (`state.replica`
   * says which rank; anything a hook sums over the batch must use global figures, see
   * `lossNormalizer` and `replica.allSum`). Every other point runs on rank 0 only, and side
   * effects belong there. A hook with `afterForward` but without `everyRank` is refused.
   */
  readonly everyRank?: boolean;
  beforeRun?(state: RunState): void | Promise<void>;
  beforeEpoch?(state: RunState): void | Promise<void>;
  beforeIter?(state: RunState, batch: Batch): void | Promise<void>;
  afterForward?(state: RunState, batch: Batch, forward: ForwardResult): LossTerms | void | ForwardSteps<LossTerms | void>;
  afterIter?(state: RunState, info: IterInfo): void | Promise<void>;
  afterEpoch?(state: RunState): void | Promise<void>;
  afterEval?(state: RunState, metrics: Metrics): void | Promise<void>;
  afterRun?(state: RunState): void | Promise<void>;
  /** Extra state to save in checkpoints (e.g. EMA weights), by name. */
  stateTensors?(): Map<string, import('@tensorflow/tfjs-core').Tensor>;
  /**
   * Restores what `stateTensors` saved, when a run resumes (called before `beforeRun`). The
   * tensors belong to the checkpoint reader and are disposed after this call: copy them.
   */
  loadStateTensors?(tensors: Map<string, import('@tensorflow/tfjs-core').Tensor>): void;
  /**
   * Weights (a state dict, possibly partial) to evaluate with instead of the live ones, e.g.
   * EMA weights. The runner swaps them in for `evaluate()` and restores the live weights after
   * predicting, before `afterEval` hooks run. At most one hook may return weights.
   */
  evalStateDict?(): Map<string, import('@tensorflow/tfjs-core').Tensor> | undefined;
}
