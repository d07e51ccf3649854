import * as tf from '@tensorflow/tfjs-core';

/**
 * Identity whose gradient is zero: tfjs has no `stopGradient`, and DAB-DETR detaches the
 * refined anchors between decoder layers (`reference_points = new_reference_points.detach()`).
 */
export const detach: <T extends tf.Tensor>(x: T) => T = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as <T extends tf.Tensor>(x: T) => T;

/**
 * The same values with NO gradient path at all: a new tensor on the same buffer, created
 * outside the tape, so nothing computed from it is differentiated. `detach` above gives the
 * same gradients (zeros) but tfjs still back-propagates through everything downstream of it
 * only to multiply by zero at the end (DAB-DETR: the sine embeddings, `ref_point_head` input
 * gradients, anchor modulation of every layer after the first).
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const engine = tf.engine();
  const backend = engine.state.tensorInfo.get(x.dataId)?.backend ?? engine.backend;
  // As tf.engine().incRef: the engine counts the new tensor, the backend its buffer share.
  const y = engine.makeTensorFromDataId(x.dataId, x.shape, x.dtype, backend) as T;
  backend.incRef(x.dataId);
  return y;
}
