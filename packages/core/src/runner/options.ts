import type { BatchSource, Dataset } from '../data/types.js';
import type { OptimizerConfig } from '../optim/optimizer.js';
import type { ParallelSeam } from '../parallel/seam.js';
import type { Services } from '../registry/types.js';
import type { Evaluator } from './evaluator.js';
import type { Hook } from './hook.js';
import type { TrainableModel } from './model.js';

/** Everything the runner needs; `buildRunner(config)` in config/ assembles it from a config. */
export interface RunnerOptions {
  model: TrainableModel;
  train: BatchSource;
  /** Validation data: batches to predict on, the dataset holding ground truth, and the scorer. */
  val?: { source: BatchSource; dataset: Dataset; evaluator: Evaluator };
  hooks: Hook[];
  optimizer: OptimizerConfig;
  maxIters: number;
  /** Clip the global gradient norm to this (0 or undefined: no clipping). */
  clipGradNorm?: number;
  /** Directory for checkpoints, logs and metrics. */
  workDir: string;
  /** Checkpoint file to resume from (model, optimizer, iteration). */
  resumeFrom?: string;
  services: Services;
  /** Install SIGINT/SIGTERM handlers that stop after the current iteration and checkpoint. Default true. */
  handleSignals?: boolean;
  /**
   * What the run computes (`trainingConfig(config)`): stored in checkpoints with its hash, and
   * a resume under a different one is refused (RESUME_CONFIG_CHANGED) unless `allowConfigChange`.
   */
  trainingConfig?: Record<string, unknown>;
  /** Resume even if the checkpoint's training config differs (the changes are logged). */
  allowConfigChange?: boolean;
  /** Data-parallel training over worker threads (`attachWorkers`); absent: one process. */
  parallel?: ParallelSeam;
}
