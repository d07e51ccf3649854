/**
 * LayerNorm over the last axis as one kernel (`DetkitLayerNorm`) with a registered gradient of
 * three kernels (dx, dgamma, dbeta), where the backend has them (webgpu: ./webgpu/layer-norm.ts,
 * installed by installWebGpuKernels). A WebGPU training step is bound by the number of
 * dispatches: the composed ops take ~10 programs forward and ~25 backward per LayerNorm, the
 * kernels 1 and 3. Other backends (wasm, cpu) have no such kernel: `LayerNorm.forward` keeps the
 * composed ops there, bit for bit as before.
 *
 * The gradient runs each kernel in its own closure, so tfjs computes only the gradients the tape
 * needs (no dx for a LayerNorm on a model input, say).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap } from '@tensorflow/tfjs-core';
import { fusedOp, runFused } from './fused-op.js';

export const LAYER_NORM_KERNEL = 'DetkitLayerNorm';
export const LAYER_NORM_GRAD_X_KERNEL = 'DetkitLayerNormGradX';
export const LAYER_NORM_GRAD_GAMMA_KERNEL = 'DetkitLayerNormGradGamma';
export const LAYER_NORM_GRAD_BETA_KERNEL = 'DetkitLayerNormGradBeta';

const KERNELS = [LAYER_NORM_KERNEL, LAYER_NORM_GRAD_X_KERNEL, LAYER_NORM_GRAD_GAMMA_KERNEL, LAYER_NORM_GRAD_BETA_KERNEL];

/** Kernel attributes. */
export interface LayerNormAttrs {
  eps: number;
}

/** True when the active backend has the fused kernels (webgpu after installWebGpuKernels, unless DETKIT_WEBGPU_FUSED=0). */
export const hasFusedLayerNorm = fusedOp(KERNELS, {
  kernelName: LAYER_NORM_KERNEL,
  inputsToSave: ['x', 'gamma'],
  gradFunc: (dy, saved, attrs) => {
    const [x, gamma] = saved as [tf.Tensor, tf.Tensor];
    const g = dy as tf.Tensor;
    const run = (name: string, inputs: tf.NamedTensorMap) => runFused(name, inputs, attrs);
    return {
      x: () => run(LAYER_NORM_GRAD_X_KERNEL, { x, gamma, dy: g }),
      gamma: () => run(LAYER_NORM_GRAD_GAMMA_KERNEL, { x, dy: g }),
      beta: () => run(LAYER_NORM_GRAD_BETA_KERNEL, { dy: g }),
    };
  },
});

/**
 * (x - mean) / sqrt(var + eps) * gamma + beta over the last axis (biased variance, as PyTorch and
 * tf.moments), on the fused kernel; differentiable in x, gamma and beta. Null where the backend
 * has no kernel or the arguments are outside what it handles (then use the composed ops):
 * float32 only, gamma and beta of shape [C] with C the last dimension of x.
 */
export function fusedLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor | null {
  const C = x.shape[x.rank - 1];
  if (x.rank < 1 || C === undefined || C === 0 || x.size === 0) return null;
  if ([x, gamma, beta].some((t) => t.dtype !== 'float32')) return null;
  if (!tf.util.arraysEqual(gamma.shape, [C]) || !tf.util.arraysEqual(beta.shape, [C])) return null;
  if (!hasFusedLayerNorm()) return null;
  const attrs: LayerNormAttrs = { eps };
  return tf.engine().runKernel(LAYER_NORM_KERNEL, { x, gamma, beta }, attrs as unknown as NamedAttrMap) as tf.Tensor;
}
