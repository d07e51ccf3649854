import type * as tf from '@tensorflow/tfjs-core';

/**
 * The value of a one-element tensor just decoded from a checkpoint, for code that restores
 * state synchronously (an optimizer's step count, EMA's update count, the best metric). No
 * kernel has used such a tensor yet, so every backend still holds the host copy it was made
 * from (WebGPU uploads on first use) and this read never waits on the device. Not for tensors
 * a kernel produced: read those with `await t.data()`.
 */
export function loadedScalar(t: tf.Tensor): number {
  return t.dataSync()[0]!;
}
