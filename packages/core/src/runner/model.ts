import type * as tf from '@tensorflow/tfjs-core';
import type { Batch, Detection } from '../data/types.js';
import type { Module } from '../nn/module.js';
import { stepsOf, type ForwardSteps } from './forward-steps.js';

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
 * `detector` kind) implement it. `forwardTrain` runs inside the gradient tape; it must be
 * synchronous and create tensors only through tf ops (the runner owns the tidy scope).
 */
export interface TrainableModel extends Module {
  forwardTrain(batch: Batch): ForwardResult;
  /**
   * The same pass as ForwardSteps, for a model that must see values on the host mid-pass (DETR's
   * matching): the runner uses it when present, so reads are asynchronous on every backend.
   * `forwardTrain` is then `runStepsSync(forwardTrainSteps(batch))`.
   */
  forwardTrainSteps?(batch: Batch): ForwardSteps<ForwardResult>;
  /** Inference: detections per image, in original-image pixel coordinates. */
  predict(batch: Batch): Promise<Detection[][]>;
  /** Class names, index = label. */
  readonly classNames: readonly string[];
}

/** A model's training forward as ForwardSteps (its own when it has them; the body runs on the first `next()`). */
export function forwardSteps(model: TrainableModel, batch: Batch): ForwardSteps<ForwardResult> {
  return model.forwardTrainSteps ? model.forwardTrainSteps(batch) : stepsOf(() => model.forwardTrain(batch));
}
