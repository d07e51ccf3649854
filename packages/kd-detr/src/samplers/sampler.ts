import type * as tf from '@tensorflow/tfjs-core';

/**
 * A distillation-point sampler produces anchor boxes (pre-sigmoid cxcywh, `[M,4]`) that both
 * teacher and student decode in the same iteration, so output i of the student can imitate
 * output i of the teacher (KD-DETR's "consistent distillation points").
 */
export interface SamplerContext {
  /** Iteration index: general points are a pure function of (seed, iteration). */
  iter: number;
  /** The teacher's own learned anchors, pre-sigmoid `[Q,4]` (for the specific sampler). */
  teacherAnchors: tf.Tensor2D;
}

export interface QuerySampler {
  /** Short name used in loss-term names, e.g. `general` -> `loss_kd_general_cls`. */
  readonly name: string;
  /** Returns a new tensor the caller owns (dispose it). */
  sample(ctx: SamplerContext): tf.Tensor2D;
}
