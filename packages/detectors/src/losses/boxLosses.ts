import * as tf from '@tensorflow/tfjs-core';
import { pairGiouCxcywh } from '../box/boxOps.js';

/**
 * DETR's box losses on matched pairs of normalised cxcywh boxes `[K,4]`, both summed and
 * divided by the number of target boxes in the batch (`num_boxes`, at least 1).
 */

/** `sum |src - tgt|` over all K*4 coordinates, / numBoxes. */
export function l1BoxLoss(src: tf.Tensor2D, tgt: tf.Tensor2D, numBoxes: number): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sum(tf.abs(tf.sub(src, tgt))), Math.max(numBoxes, 1)) as tf.Scalar);
}

/** `sum (1 - GIoU(src_k, tgt_k))` over the K pairs, / numBoxes. */
export function giouBoxLoss(src: tf.Tensor2D, tgt: tf.Tensor2D, numBoxes: number): tf.Scalar {
  return tf.tidy(() => {
    // Split kernels choke on empty tensors (cpu): no pairs contribute exactly 0.
    if (src.shape[0] === 0) return tf.mul(tf.sum(src), 0) as tf.Scalar;
    const giou = pairGiouCxcywh(src, tgt);
    return tf.div(tf.sum(tf.sub(1, giou)), Math.max(numBoxes, 1)) as tf.Scalar;
  });
}
