/**
 * What every fused op here (LayerNorm, BatchNorm, focal loss, pair GIoU) shares: its kernels
 * exist only on some backends (webgpu), its gradient is registered once, on first use, and its
 * gradient functions run sibling kernels with the forward kernel's attributes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs-core';

/**
 * `available(backendName)`: true when every one of `kernels` is registered on that backend (the
 * active one by default); the first such answer registers `gradient`.
 */
export function fusedOp(kernels: readonly string[], gradient: GradConfig): (backendName?: string) => boolean {
  return (backendName = tf.getBackend()) => {
    const ok = kernels.every((k) => tf.getKernel(k, backendName) !== undefined);
    if (ok && tf.getGradient(gradient.kernelName) === undefined) tf.registerGradient(gradient);
    return ok;
  };
}

/** Runs kernel `name` on `inputs` with `attrs` (a gradient function's sibling kernels). */
export function runFused(name: string, inputs: tf.NamedTensorMap, attrs: unknown): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as NamedAttrMap) as tf.Tensor;
}
