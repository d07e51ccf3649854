/**
 * Training-mode BatchNorm over the last axis (NHWC: statistics per channel over N, H, W) as one
 * kernel, `DetkitBatchNorm` (x, gamma, beta -> y, batch mean, biased batch variance), with a
 * registered gradient of three kernels (dbeta, dgamma, dx); and the running-average update of
 * the running statistics as one kernel, `DetkitRunningAverage`. Where the backend has them
 * (webgpu: ./webgpu/batch-norm.ts). A WebGPU training step is bound by the number of dispatches:
 * composed ops take ~20 programs forward, ~8 for the running statistics and ~25 backward per
 * BatchNorm; the kernels 3, 2 and 3. wasm and cpu have no such kernel: `BatchNorm2d.forward`
 * keeps the composed ops there, bit for bit as before.
 *
 * The statistics outputs carry no gradient (one reaching them is ignored): BatchNorm2d feeds
 * them only to the running statistics, which are off the path to the loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap } from '@tensorflow/tfjs-core';
import { fusedOp, runFused } from './fused-op.js';

export const BATCH_NORM_KERNEL = 'DetkitBatchNorm';
export const BATCH_NORM_GRAD_BETA_KERNEL = 'DetkitBatchNormGradBeta';
export const BATCH_NORM_GRAD_GAMMA_KERNEL = 'DetkitBatchNormGradGamma';
export const BATCH_NORM_GRAD_X_KERNEL = 'DetkitBatchNormGradX';
export const RUNNING_AVERAGE_KERNEL = 'DetkitRunningAverage';

const KERNELS = [BATCH_NORM_KERNEL, BATCH_NORM_GRAD_BETA_KERNEL, BATCH_NORM_GRAD_GAMMA_KERNEL, BATCH_NORM_GRAD_X_KERNEL];

/** Kernel attributes of the batch norm and its gradients. */
export interface BatchNormAttrs {
  eps: number;
}

/** running' = running * (1 - momentum) + stat * scale * momentum (scale: n/(n-1) for the variance). */
export interface RunningAverageAttrs {
  momentum: number;
  scale: number;
}

/** True when the active backend has the fused batch norm (webgpu after installWebGpuKernels, unless DETKIT_WEBGPU_FUSED leaves it out). */
export const hasFusedBatchNorm = fusedOp(KERNELS, {
  kernelName: BATCH_NORM_KERNEL,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved, attrs) => {
    // tfjs hands zeros for outputs off the path to the loss: the statistics' are ignored.
    const [dy] = dys as tf.Tensor[];
    const [x, gamma, mean, variance] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const run = (name: string, inputs: tf.NamedTensorMap) => runFused(name, inputs, attrs);
    // dx needs both column sums, so they are made once here (the backward pass's tidy frees
    // them) and handed out as clones (shared buffers, no copy).
    const dbeta = run(BATCH_NORM_GRAD_BETA_KERNEL, { dy: dy! });
    const dgamma = run(BATCH_NORM_GRAD_GAMMA_KERNEL, { x, dy: dy!, mean, variance });
    return {
      x: () => run(BATCH_NORM_GRAD_X_KERNEL, { x, dy: dy!, gamma, mean, variance, dgamma, dbeta }),
      gamma: () => tf.clone(dgamma),
      beta: () => tf.clone(dbeta),
    };
  },
});

/**
 * Training-mode batch norm over the last axis: [y, mean, variance] with y = (x - mean) /
 * sqrt(variance + eps) * gamma + beta and the biased variance (as tf.moments), differentiable in
 * x, gamma and beta through y. Null where the backend has no kernel or the arguments are outside
 * what it handles (then use the composed ops): float32, gamma and beta of shape [C] with C the
 * last dimension of x, at least one row.
 */
export function fusedBatchNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): [tf.Tensor, tf.Tensor, tf.Tensor] | null {
  const C = x.shape[x.rank - 1];
  if (x.rank < 2 || C === undefined || C === 0 || x.size === 0) return null;
  if ([x, gamma, beta].some((t) => t.dtype !== 'float32')) return null;
  if (!tf.util.arraysEqual(gamma.shape, [C]) || !tf.util.arraysEqual(beta.shape, [C])) return null;
  if (!hasFusedBatchNorm()) return null;
  const attrs: BatchNormAttrs = { eps };
  return tf.engine().runKernel(BATCH_NORM_KERNEL, { x, gamma, beta }, attrs as unknown as NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}

/**
 * running * (1 - momentum) + stat * scale * momentum in one kernel; null where the backend has
 * none (then use the composed ops). Not differentiable (running statistics are buffers).
 */
export function fusedRunningAverage(running: tf.Tensor, stat: tf.Tensor, momentum: number, scale: number): tf.Tensor | null {
  if (running.dtype !== 'float32' || stat.dtype !== 'float32' || !tf.util.arraysEqual(running.shape, stat.shape)) return null;
  if (tf.getKernel(RUNNING_AVERAGE_KERNEL, tf.getBackend()) === undefined) return null;
  const attrs: RunningAverageAttrs = { momentum, scale };
  return tf.engine().runKernel(RUNNING_AVERAGE_KERNEL, { running, stat }, attrs as unknown as NamedAttrMap) as tf.Tensor;
}
