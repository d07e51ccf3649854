import * as tf from '@tensorflow/tfjs-core';
import type { BatchSource, Detection } from '../data/types.js';
import { DetkitError } from '../errors.js';
import { formatValue } from '../util/format-value.js';
import type { TrainableModel } from './model.js';

/**
 * Predicts over every batch of `source` in eval mode and returns all detections. If
 * `weights` is given (e.g. EMA weights) they are swapped in for the duration and the live
 * weights restored afterwards, even if prediction throws. The previous train/eval mode is
 * restored too. Batches are disposed here.
 */
export async function predictAll(model: TrainableModel, source: BatchSource, weights?: Map<string, tf.Tensor>): Promise<Detection[]> {
  const wasTraining = model.training;
  let saved: Map<string, tf.Tensor> | undefined;
  model.eval();
  try {
    if (weights) {
      const live = model.stateDict();
      saved = new Map();
      for (const name of weights.keys()) {
        const v = live.get(name);
        if (v) saved.set(name, tf.clone(v));
      }
      model.loadStateDict(weights, { strict: false, source: 'evaluation weights' });
    }
    const detections: Detection[] = [];
    // Epoch 0 always: evaluation order must not depend on how far training got.
    for await (const batch of source.batches(0)) {
      try {
        for (const perImage of await model.predict(batch)) {
          assertFiniteDetections(perImage);
          detections.push(...perImage);
        }
      } finally {
        batch.images.dispose();
        batch.masks.dispose();
      }
    }
    return detections;
  } finally {
    if (saved) {
      model.loadStateDict(saved, { strict: false, source: 'live weights' });
      saved.forEach((t) => t.dispose());
    }
    model.train(wasTraining);
  }
}

/**
 * NaN/Inf scores or boxes mean the weights have diverged (or are corrupt): say so, rather than
 * letting an evaluator fail on `score: null` in a results record. OUTPUT_NOT_FINITE, exit 4.
 */
export function assertFiniteDetections(detections: readonly Detection[]): void {
  const bad = detections.filter((d) => !Number.isFinite(d.score) || !d.box.every(Number.isFinite));
  if (bad.length === 0) return;
  const d = bad[0]!;
  throw new DetkitError(
    'OUTPUT_NOT_FINITE',
    `The model produced non-finite outputs (image ${d.imageId}: score ${d.score}, box ${formatValue(d.box)}; ${bad.length} of ${detections.length} detections of that image): ` +
      'its weights have diverged or are corrupt; use a checkpoint from before the divergence',
    { imageId: d.imageId, count: bad.length },
  );
}
