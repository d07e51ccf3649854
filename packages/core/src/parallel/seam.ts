import type { Batch } from '../data/types.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Hook } from '../runner/hook.js';
import type { TrainableModel } from '../runner/model.js';
import type { StepReducer } from '../runner/train-step.js';
import type { ReplicaContext } from './replica.js';

/** What rank 0's runner hands the other ranks before the first step. */
export interface BeginState {
  model: TrainableModel;
  optimizer: Optimizer;
  hooks: readonly Hook[];
  /** The run's Rng position (after a resume), when the Rng can report it. */
  rngState?: unknown;
}

/**
 * The runner's view of data-parallel training (`RunnerOptions.parallel`; `DataParallelGroup`
 * implements it). The runner stays rank 0: it loads the global batch, runs every hook, and
 * calls these three points; ranks >= 1 mirror its steps in worker threads.
 */
export interface ParallelSeam {
  readonly replica: ReplicaContext;
  /**
   * After a resume and the beforeRun hooks, before the first step: every rank starts from rank
   * 0's model, optimizer state and hook state, so a resumed run continues as with one worker.
   */
  begin(state: BeginState): Promise<void>;
  /**
   * Splits the global batch: the other ranks are sent their shares, rank 0's share is returned
   * (with `global` set). Takes ownership of `batch` (its tensors are disposed).
   */
  scatter(batch: Batch, at: { iter: number; epoch: number }): Batch;
  /** The gradient all-reduce of this step; `lr` is the step's learning rate, applied on every rank. */
  reducer(lr: number): StepReducer;
}
