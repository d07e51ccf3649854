import * as tf from '@tensorflow/tfjs-core';

/** tf.tidy for results whose static type is an interface of tensors (tidy's typing wants index signatures). */
export function tidyAny<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}
