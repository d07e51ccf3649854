import * as tf from '@tensorflow/tfjs-core';
import { fusedSigmoidFocalLoss } from '@detkit/core';

export interface FocalLossOptions {
  alpha?: number;
  gamma?: number;
}

/**
 * Element-wise sigmoid focal loss (Lin et al.), before any reduction:
 * `alpha_t * (1 - p_t)^gamma * BCE(logits, targets)`, BCE computed stably from logits.
 * A negative `alpha` disables the alpha weighting, as in the reference. On a backend with core's
 * fused kernel (webgpu) one program forward and one per gradient; elsewhere composed tfjs ops.
 */
export function sigmoidFocalLossElementwise(logits: tf.Tensor, targets: tf.Tensor, options: FocalLossOptions = {}): tf.Tensor {
  const alpha = options.alpha ?? 0.25;
  const gamma = options.gamma ?? 2;
  const fused = fusedSigmoidFocalLoss(logits, targets, alpha, gamma);
  if (fused) return fused;
  return tf.tidy(() => {
    // BCE with logits: max(x, 0) - x t + log(1 + exp(-|x|)).
    const ce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    const p = tf.sigmoid(logits);
    const oneMinusT = tf.sub(1, targets);
    const pT = tf.add(tf.mul(p, targets), tf.mul(tf.sub(1, p), oneMinusT));
    const base = tf.sub(1, pT);
    const modulator = gamma === 2 ? tf.square(base) : gamma === 1 ? base : tf.pow(base, gamma);
    let loss = tf.mul(ce, modulator);
    if (alpha >= 0) loss = tf.mul(loss, tf.add(tf.mul(targets, alpha), tf.mul(oneMinusT, 1 - alpha)));
    return loss;
  });
}

/**
 * Deformable / DAB-DETR classification loss: `sigmoid_focal_loss(logits, onehot, num_boxes) * Q`
 * where the reference reduces with `loss.mean(1).sum() / num_boxes` over `[B,Q,C]`. The mean over
 * queries times Q cancels, so this is exactly **sum over all B*Q*C elements / numBoxes**.
 * `targets` is the one-hot `[B,Q,C]` matrix, all zeros for unmatched (background) queries.
 */
export function sigmoidFocalLoss(logits: tf.Tensor, targets: tf.Tensor, numBoxes: number, options: FocalLossOptions = {}): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sum(sigmoidFocalLossElementwise(logits, targets, options)), Math.max(numBoxes, 1)) as tf.Scalar);
}
