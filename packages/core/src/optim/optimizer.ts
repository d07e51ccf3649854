import type * as tf from '@tensorflow/tfjs-core';

/**
 * A first-order optimizer over a fixed, ordered list of named variables. State is keyed by
 * variable *name* (not position, unlike tf.train.adam), so it survives a checkpoint round trip
 * and a change in which parameters are frozen.
 */
export interface Optimizer {
  /** Applies one update. `grads` maps variable name -> gradient; `lr` is this step's rate. */
  step(grads: Map<string, tf.Tensor>, lr: number): void;
  /** Optimizer slots by name (e.g. `exp_avg/<param>`), plus a `step` counter; for checkpoints. */
  stateDict(): Map<string, tf.Tensor>;
  loadStateDict(state: Map<string, tf.Tensor>): void;
  dispose(): void;
}

export interface OptimizerConfig {
  type: 'adamw' | 'adam' | 'sgd';
  lr: number;
  weightDecay?: number;
  betas?: [number, number];
  eps?: number;
  momentum?: number;
}
