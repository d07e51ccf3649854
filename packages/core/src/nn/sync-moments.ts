import * as tf from '@tensorflow/tfjs-core';
import type { ReplicaContext } from '../parallel/replica.js';

/**
 * Per-channel mean and (biased) variance of NHWC `x` over the images of EVERY rank (PyTorch's
 * SyncBatchNorm), so a data-parallel step normalises exactly as one process on the global batch.
 *
 * Forward: each rank's count, sum and sum of squares (from its local moments, combined in
 * float64) are summed over ranks. Backward: the mean and variance are functions of every rank's
 * images, so the upstream gradients w.r.t. them are summed over ranks too, then
 * `dx = (dMean + 2 dVar (x - mean)) / N` with N the global count. Two small collectives per layer
 * and step; both run inside the tape, in the same order on every rank.
 */
export function syncMoments(x: tf.Tensor4D, replica: ReplicaContext): { mean: tf.Tensor1D; variance: tf.Tensor1D; count: number } {
  const c = x.shape[3];
  let count = 0;
  const moments = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const local = tf.tidy(() => {
      const { mean, variance } = tf.moments(input, [0, 1, 2]);
      return tf.concat([mean, variance]).dataSync();
    });
    const n = input.size / c;
    // [n, n*mean_c, n*(var_c + mean_c^2)]: sums that combine exactly across ranks.
    const packed = new Float64Array(1 + 2 * c);
    packed[0] = n;
    for (let k = 0; k < c; k++) {
      const m = local[k]!;
      packed[1 + k] = n * m;
      packed[1 + c + k] = n * (local[c + k]! + m * m);
    }
    const g = replica.allSum(packed);
    count = g[0]!;
    const stats = new Float32Array(2 * c);
    for (let k = 0; k < c; k++) {
      const mean = g[1 + k]! / count;
      stats[k] = mean;
      stats[c + k] = Math.max(0, g[1 + c + k]! / count - mean * mean);
    }
    const value = tf.tensor2d(stats, [2, c]);
    save([input]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const summed = replica.allSum(dy.dataSync());
        return tf.tidy(() => {
          const dMean = tf.tensor1d(Float32Array.from(summed.subarray(0, c)));
          const dVar = tf.tensor1d(Float32Array.from(summed.subarray(c, 2 * c)));
          const mean = tf.tensor1d(stats.subarray(0, c));
          const centred = tf.sub(saved[0]!, mean);
          return tf.div(tf.add(dMean, tf.mul(tf.mul(dVar, 2), centred)), count);
        });
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const both = moments(x) as tf.Tensor2D;
  const [mean, variance] = tf.unstack(both) as [tf.Tensor1D, tf.Tensor1D];
  return { mean, variance, count };
}
