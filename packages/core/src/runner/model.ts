import type * as tf from '@tensorflow/tfjs-core';
import type { Batch, Detection } from '../data/types.js';
import type { Module } from '../nn/module.js';

/** Named scalar loss terms; the runner sums them (after any weighting the producer applied). */
export type LossTerms = Record<string, tf.Scalar>;

/** What a model's training forward pass returns, inside the gradient tape. */
export interface ForwardResult {
  losses: LossTerms;
  /**
   * Model-specific intermediate outputs that hooks may read (not mutate) in `afterForward`,
   * e.g. a DETR's encoder memory so a distillation hook can decode extra query groups
   * without re-encoding. Tensors here are owned by the surrounding tidy scope.
   */
  outputs?: unknown;
}

/**
 * The contract between the runner and anything it trains. Detectors (registered under the
 * `detector` kind) implement it. `forwardTrain` is called inside `tf.variableGrads`; it must
 * be synchronous and create tensors only through tf ops (the runner owns the tidy scope).
 */
export interface TrainableModel extends Module {
  forwardTrain(batch: Batch): ForwardResult;
  /** Inference: detections per image, in original-image pixel coordinates. */
  predict(batch: Batch): Promise<Detection[][]>;
  /** Class names, index = label. */
  readonly classNames: readonly string[];
}
