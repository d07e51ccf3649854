import * as tf from '@tensorflow/tfjs-core';

/**
 * torch.nn.utils.clip_grad_norm_: scales all gradients by min(1, maxNorm / (norm + 1e-6))
 * where norm is the global L2 norm over every gradient. Returns new tensors (the caller
 * disposes them and still owns the inputs) and the norm before clipping (NaN/Infinity if
 * a gradient is not finite; the runner decides what to do then).
 */
export function clipGradNorm(grads: Map<string, tf.Tensor>, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: number } {
  const norm = globalGradNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  const out = new Map<string, tf.Tensor>();
  tf.tidy(() => {
    for (const [k, g] of grads) out.set(k, tf.keep(coef < 1 ? tf.mul(g, coef) : tf.clone(g)));
  });
  return { grads: out, norm };
}

/** sqrt(sum over gradients of sum(g^2)), accumulated in one tensor so there is a single read. */
export function globalGradNorm(grads: Map<string, tf.Tensor>): number {
  if (grads.size === 0) return 0;
  return tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))).dataSync()[0]!);
}
