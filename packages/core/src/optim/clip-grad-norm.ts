import * as tf from '@tensorflow/tfjs-core';
import { totalSumOfSquares } from '../backend/sum-squares.js';

/**
 * torch.nn.utils.clip_grad_norm_: scales all gradients by min(1, maxNorm / (norm + 1e-6))
 * where norm is the global L2 norm over every gradient. Returns new tensors (the caller
 * disposes them and still owns the inputs) and the norm before clipping (NaN/Infinity if
 * a gradient is not finite; the runner decides what to do then).
 */
export function clipGradNorm(grads: Map<string, tf.Tensor>, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: number } {
  const norm = globalGradNorm(grads);
  const coef = clipCoefficient(norm, maxNorm);
  const out = new Map<string, tf.Tensor>();
  tf.tidy(() => {
    for (const [k, g] of grads) out.set(k, tf.keep(coef < 1 ? tf.mul(g, coef) : tf.clone(g)));
  });
  return { grads: out, norm };
}

/** PyTorch's clipping factor: gradients are scaled by it when it is below 1. */
export function clipCoefficient(norm: number, maxNorm: number): number {
  return maxNorm / (norm + 1e-6);
}

/**
 * sqrt(sum over gradients of sum(g^2)) as a scalar tensor the caller disposes, so a caller
 * can read it together with other numbers in one device->host transfer.
 */
export function globalGradNormTensor(grads: ReadonlyMap<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => (grads.size === 0 ? tf.scalar(0) : tf.sqrt(totalSumOfSquares([...grads.values()])))) as tf.Scalar;
}

/** The global L2 norm of `grads` as a number (one synchronous read: not on WebGPU; the runner reads globalGradNormTensor asynchronously). */
export function globalGradNorm(grads: ReadonlyMap<string, tf.Tensor>): number {
  const norm = globalGradNormTensor(grads);
  try {
    return norm.dataSync()[0]!;
  } finally {
    norm.dispose();
  }
}
