import * as tf from '@tensorflow/tfjs-core';

/**
 * Identity whose gradient is zero: tfjs has no `stopGradient`, and DAB-DETR detaches the
 * refined anchors between decoder layers (`reference_points = new_reference_points.detach()`).
 */
export const detach: <T extends tf.Tensor>(x: T) => T = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as <T extends tf.Tensor>(x: T) => T;

// Lives in core (the deformable-attention reference uses it too); re-exported for this package's users.
export { stopGradient } from '@detkit/core';
