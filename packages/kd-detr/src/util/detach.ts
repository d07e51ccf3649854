import * as tf from '@tensorflow/tfjs-core';

/**
 * Identity whose gradient is zero (tfjs has no stop_gradient): teacher outputs and anchors are
 * data for the student, never a path back, even when they are used inside a gradient tape.
 */
export const detach = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as <T extends tf.Tensor>(x: T) => T;
