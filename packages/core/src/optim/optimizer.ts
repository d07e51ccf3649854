import type * as tf from '@tensorflow/tfjs-core';

/**
 * A first-order optimizer over a fixed, ordered list of named variables. State is keyed by
 * variable *name* (not position, unlike tf.train.adam), so it survives a checkpoint round trip
 * and a change in which parameters are frozen.
 */
export interface Optimizer {
  /**
   * Applies one update. `grads` maps variable name -> gradient; `lr` is this step's rate;
   * gradients count multiplied by `gradScale` (default 1: gradient clipping's factor, applied
   * inside a fused update where there is one, which saves a kernel per parameter on a GPU).
   */
  step(grads: Map<string, tf.Tensor>, lr: number, gradScale?: number): void;
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
  /**
   * Per-parameter-group overrides, first match wins (e.g. DETR's backbone at lr x 0.1:
   * `[{ match: 'backbone.', lrMult: 0.1 }]`). `match` is a name prefix or a RegExp.
   */
  paramGroups?: ParamGroupConfig[];
}

export interface ParamGroupConfig {
  /** A parameter-name prefix, or a RegExp tested against the full dotted name. */
  match: string | RegExp;
  /** Multiplies the step's learning rate for this group. Default 1. */
  lrMult?: number;
  /** Replaces the optimizer's weight decay for this group (e.g. 0 for norms and biases). */
  weightDecay?: number;
}
