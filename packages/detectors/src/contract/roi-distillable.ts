import type * as tf from '@tensorflow/tfjs-core';
import type { ForwardResult, TrainableModel } from '@detkit/core';

/**
 * The RoI contract: how a CNN detector takes part in heterogeneous KD-DETR (a DETR teacher,
 * a CNN student). The counterpart of the query-group contract: "given boxes, return your
 * class scores and decoded boxes at those boxes". A distillation point is a box; the teacher
 * decodes it as a query (anchor = the box), the student pools it as an extra RoI through its
 * RoI head, with no sampling or assignment. See packages/detectors/README.md.
 */

/**
 * Distillation boxes on the host (constants: detached), normalised cxcywh relative to each
 * image's unpadded size: `boxes` `[M*4]` shared by every image of the batch, or `perImage`,
 * one `[M*4]` per image (the same M), e.g. the student's own proposals.
 */
export type DistillBoxes = { boxes: Float32Array; perImage?: undefined } | { perImage: readonly Float32Array[]; boxes?: undefined };

/** What the student returns at the boxes, for every image. */
export interface RoiPredictions {
  /** `[B,M,C+1]` class logits (softmax): the C foreground classes in the shared class order, background LAST. */
  logits: tf.Tensor3D;
  /** `[B,M,C,4]` the box decoded for each foreground class: normalised cxcywh relative to the unpadded image, the teacher's frame (not clipped). */
  boxes: tf.Tensor4D;
}

/** What `forwardTrain` exposes in `ForwardResult.outputs` for hooks. */
export interface RoiTrainOutputs<F = unknown> {
  /** The features `predictAtBoxes` pools from (the detector's own type; the hook only passes it back). */
  roiFeatures: F;
}

export interface RoiDistillable<F = unknown> extends TrainableModel {
  readonly numClasses: number;
  readonly boxFormat: 'cxcywh-normalized';
  /**
   * Class logits and per-class decoded boxes at `boxes` (for every image of the batch), from
   * the features of this iteration's `forwardTrain`: differentiable w.r.t. the detector's
   * parameters, the boxes themselves are constants. No sampling, no matching, no loss.
   */
  predictAtBoxes(features: F, boxes: DistillBoxes): RoiPredictions;
  /**
   * Optional: the detector's own candidate boxes of this iteration (Faster R-CNN: its RPN
   * proposals), per image, best first, at most `count` each, normalised cxcywh relative to the
   * unpadded image; detached. The paper's heterogeneous distillation points (the `proposals`
   * sampler of kd-detr-hetero).
   */
  distillationProposals?(outputs: RoiTrainOutputs<F>, count: number): Float32Array[];
  forwardTrain(batch: Parameters<TrainableModel['forwardTrain']>[0]): ForwardResult & { outputs: RoiTrainOutputs<F> };
}

/** Type guard: does `x` implement the RoI contract? */
export function isRoiDistillable(x: unknown): x is RoiDistillable {
  if (typeof x !== 'object' || x === null) return false;
  const d = x as Partial<RoiDistillable>;
  return typeof d.predictAtBoxes === 'function' && typeof d.forwardTrain === 'function' && typeof d.numClasses === 'number' && d.boxFormat === 'cxcywh-normalized';
}
