import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '@detkit/core';

/**
 * Rows `idx` of a `[N,D]` tensor, as `oneHot(idx) @ x`. Unlike `tf.gather`, whose gradient
 * (UnsortedSegmentSum) the wasm backend lacks at tfjs 4.22, the gradient here is a matmul
 * and works on every backend. Cost O(K*N*D): meant for the few hundred rows of a DETR head.
 */
export function gatherRows(x: tf.Tensor2D, idx: ArrayLike<number>): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, d] = x.shape;
    if (idx.length === 0) return tf.zeros([0, d]) as tf.Tensor2D;
    const sel = new Float32Array(idx.length * n);
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k];
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new DetkitError('INVALID_ARGUMENT', `gatherRows: index ${i} at position ${k} is outside [0, ${n})`);
      sel[k * n + i] = 1;
    }
    return tf.matMul(tf.tensor2d(sel, [idx.length, n]), x);
  });
}
