import type * as tf from '@tensorflow/tfjs-core';

/** Pre-sigmoid cxcywh anchors: `[M,4]` shared by the batch, or `[B,M,4]` per image. */
export type PointAnchors = tf.Tensor2D | tf.Tensor3D;

/**
 * A distillation-point sampler produces anchor boxes (pre-sigmoid cxcywh, `[M,4]`, or `[B,M,4]` per image) that both
 * teacher and student decode in the same iteration, so output i of the student can imitate
 * output i of the teacher (KD-DETR's "consistent distillation points").
 */
export interface SamplerContext {
  /** Iteration index: general points are a pure function of (seed, iteration). */
  iter: number;
  /**
   * The teacher's own detection anchors, pre-sigmoid (for the specific sampler): `[Q,4]` learned
   * (DAB-DETR, Deformable DETR) or `[B,Q,4]` selected per image from its encoder (DINO).
   */
  teacherAnchors: PointAnchors;
}

/**
 * The content part of a distillation query. 'zeros' (DAB-DETR's content init; the default): the
 * points are anchors only. 'learned': each model decodes point i with its own detection-query
 * content, row i mod Q of its `detectionContent()` or `detectionQueries(encoded).content` (see
 * contentOf; zeros for a model without content,
 * as DAB-DETR and Deformable DETR here), so at its own anchors a DINO teacher's targets are its
 * detection outputs; the student's content rows learn from the distillation too.
 */
export type PointContent = 'zeros' | 'learned';
export const POINT_CONTENTS: readonly PointContent[] = ['zeros', 'learned'];

export interface QuerySampler {
  /** Short name used in loss-term names, e.g. `general` -> `loss_kd_general_cls`. */
  readonly name: string;
  /** Content of this sampler's queries (default 'zeros'). */
  readonly content?: PointContent;
  /** Returns a new tensor the caller owns (dispose it). */
  sample(ctx: SamplerContext): PointAnchors;
}
