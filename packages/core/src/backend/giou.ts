/**
 * The generalised IoU of matched pairs of normalised cxcywh boxes, `[K,4], [K,4] -> [K]`, as one
 * kernel, `DetkitPairGiou`, with a registered gradient of one kernel per input, where the
 * backend has them (webgpu: ./webgpu/giou.ts). The composed ops (two box conversions, areas,
 * intersection, union, enclosing box) take ~45 programs forward and ~70 backward, and a DETR
 * step runs them once per decoder layer plus once per KD-DETR point group; the kernels 1 and 1.
 * wasm and cpu have no such kernel: the detectors' box ops keep the composed ops there.
 *
 * Same formula as the composed ops, eps included: with xyxy corners of a and b,
 *   inter = relu(min(ax1, bx1) - max(ax0, bx0)) * relu(min(ay1, by1) - max(ay0, by0))
 *   union = area(a) + area(b) - inter,  iou = inter / (union + eps)
 *   C = relu(max(ax1, bx1) - min(ax0, bx0)) * relu(max(ay1, by1) - min(ay0, by0))
 *   giou = iou - (C - union) / (C + eps)
 * and the gradient breaks ties as tfjs does (max/min send the gradient to their first input on
 * equality, relu passes it only where its input is > 0), so it is the composed ops' gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap } from '@tensorflow/tfjs-core';
import { fusedOp, runFused } from './fused-op.js';

export const PAIR_GIOU_KERNEL = 'DetkitPairGiou';
export const PAIR_GIOU_GRAD_KERNEL = 'DetkitPairGiouGrad';

/** eps: added to the union and to the enclosing area. */
export interface PairGiouAttrs {
  eps: number;
}

/** The gradient kernel's attributes: which input's gradient (`first`: a's, else b's). */
export interface PairGiouGradAttrs extends PairGiouAttrs {
  first: boolean;
}

/** True when the active backend has the fused pair GIoU (webgpu after installWebGpuKernels, unless DETKIT_WEBGPU_FUSED leaves it out). */
export const hasFusedPairGiou = fusedOp([PAIR_GIOU_KERNEL, PAIR_GIOU_GRAD_KERNEL], {
  kernelName: PAIR_GIOU_KERNEL,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const { eps } = attrs as unknown as PairGiouAttrs;
    // The gradient of one input is the same program with the roles swapped (and ties broken
    // for the second input, as tfjs breaks them).
    const run = (self: tf.Tensor, other: tf.Tensor, first: boolean) => {
      const gradAttrs: PairGiouGradAttrs = { eps, first };
      return runFused(PAIR_GIOU_GRAD_KERNEL, { self, other, dy: dy as tf.Tensor }, gradAttrs);
    };
    return { a: () => run(a, b, true), b: () => run(b, a, false) };
  },
});

/**
 * GIoU of the pairs (a_k, b_k) of cxcywh boxes `[K,4]`, differentiable in both; null where the
 * backend has no kernel or the arguments are outside what it handles (then use the composed ops).
 */
export function fusedPairGiou(a: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor | null {
  if (a.rank !== 2 || a.shape[1] !== 4 || a.shape[0] === 0 || !tf.util.arraysEqual(a.shape, b.shape)) return null;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (!hasFusedPairGiou()) return null;
  const attrs: PairGiouAttrs = { eps };
  return tf.engine().runKernel(PAIR_GIOU_KERNEL, { a, b }, attrs as unknown as NamedAttrMap) as tf.Tensor;
}
