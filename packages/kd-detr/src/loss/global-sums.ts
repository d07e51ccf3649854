import * as tf from '@tensorflow/tfjs-core';
import type { ReplicaContext } from '@detkit/core';
import { foregroundWeights } from './foreground-weights.js';
import type { KdGlobalSums } from './segment-loss.js';

/** One rank's figures for a set of segments, before they are summed over ranks. */
export interface KdLocalSums {
  weightSum: number;
  batch: number;
  points: number;
}

/**
 * The local figures of points whose teacher logits are `[B,M,C]`: the foreground weights'
 * sum (or the point count without weighting), B and B*M. Read before the tape (async).
 */
export async function kdLocalSums(teacherLogits: tf.Tensor3D, foregroundWeighting: boolean): Promise<KdLocalSums> {
  const [b, m] = teacherLogits.shape;
  let weightSum = b * m;
  if (foregroundWeighting) {
    const sum = tf.tidy(() => tf.sum(foregroundWeights(teacherLogits)));
    weightSum = (await sum.data())[0]!;
    sum.dispose();
  }
  return { weightSum, batch: b, points: b * m };
}

/**
 * Every group's local figures summed over the ranks in one collective, so KD's normalisers are
 * the global batch's (the KL 'sum' of the reference included: each rank scales by worldSize).
 * Undefined for one process: the loss then uses the batch's own figures, as before.
 */
export function kdGlobalSums(local: readonly KdLocalSums[], replica: ReplicaContext | undefined): KdGlobalSums[] | undefined {
  if (!replica || replica.worldSize <= 1) return undefined;
  const summed = replica.allSum(local.flatMap((l) => [l.weightSum, l.batch, l.points]));
  return local.map((_, i) => ({ worldSize: replica.worldSize, weightSum: summed[3 * i]!, batch: summed[3 * i + 1]!, points: summed[3 * i + 2]! }));
}
