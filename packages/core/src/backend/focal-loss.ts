/**
 * Elementwise sigmoid focal loss (Lin et al.) as one kernel, `DetkitSigmoidFocalLoss`, with a
 * registered gradient of one kernel per input (logits, targets), where the backend has them
 * (webgpu: ./webgpu/focal-loss.ts). The composed ops take ~22 programs forward and ~40 backward
 * per call, and a DETR step calls it once per decoder layer; the kernels 1 and 1.
 * wasm and cpu have no such kernel: the detectors' `sigmoidFocalLossElementwise` keeps the
 * composed ops there, bit for bit as before.
 *
 *   loss = alpha_t * (1 - p_t)^gamma * BCE(x, t),  p = sigmoid(x),  p_t = p t + (1 - p)(1 - t),
 *   alpha_t = alpha t + (1 - alpha)(1 - t) (1 when alpha < 0),  BCE = max(x, 0) - x t + log(1 + e^-|x|)
 *   dloss/dx = alpha_t [(p - t)(1 - p_t)^gamma - gamma (1 - p_t)^(gamma-1) p (1 - p)(2t - 1) BCE]
 *   dloss/dt = alpha_t [-x (1 - p_t)^gamma + gamma (1 - p_t)^(gamma-1) (1 - 2p) BCE] + (2 alpha - 1)(1 - p_t)^gamma BCE
 * (the (2 alpha - 1) term only when alpha >= 0).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap } from '@tensorflow/tfjs-core';
import { fusedOp, runFused } from './fused-op.js';

export const FOCAL_LOSS_KERNEL = 'DetkitSigmoidFocalLoss';
export const FOCAL_LOSS_GRAD_LOGITS_KERNEL = 'DetkitSigmoidFocalLossGradLogits';
export const FOCAL_LOSS_GRAD_TARGETS_KERNEL = 'DetkitSigmoidFocalLossGradTargets';

const KERNELS = [FOCAL_LOSS_KERNEL, FOCAL_LOSS_GRAD_LOGITS_KERNEL, FOCAL_LOSS_GRAD_TARGETS_KERNEL];

/** Kernel attributes: alpha < 0 turns the alpha weighting off, as in the reference. */
export interface FocalLossAttrs {
  alpha: number;
  gamma: number;
}

/** True when the active backend has the fused focal loss (webgpu after installWebGpuKernels, unless DETKIT_WEBGPU_FUSED leaves it out). */
export const hasFusedFocalLoss = fusedOp(KERNELS, {
  kernelName: FOCAL_LOSS_KERNEL,
  inputsToSave: ['logits', 'targets'],
  gradFunc: (dy, saved, attrs) => {
    const [logits, targets] = saved as [tf.Tensor, tf.Tensor];
    const run = (name: string) => runFused(name, { logits, targets, dy: dy as tf.Tensor }, attrs);
    return { logits: () => run(FOCAL_LOSS_GRAD_LOGITS_KERNEL), targets: () => run(FOCAL_LOSS_GRAD_TARGETS_KERNEL) };
  },
});

/**
 * The elementwise loss of `logits` against `targets` (same shape, float32), differentiable in
 * both; null where the backend has no kernel or the arguments are outside what it handles (then
 * use the composed ops).
 */
export function fusedSigmoidFocalLoss(logits: tf.Tensor, targets: tf.Tensor, alpha: number, gamma: number): tf.Tensor | null {
  if (logits.size === 0 || logits.dtype !== 'float32' || targets.dtype !== 'float32') return null;
  if (!tf.util.arraysEqual(logits.shape, targets.shape)) return null;
  if (!hasFusedFocalLoss()) return null;
  const attrs: FocalLossAttrs = { alpha, gamma };
  return tf.engine().runKernel(FOCAL_LOSS_KERNEL, { logits, targets }, attrs as unknown as NamedAttrMap) as tf.Tensor;
}
