import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';

/**
 * Plain tensor functions behind the layers. Kept separate so detectors can call them on
 * weights they hold themselves (e.g. attention in_proj slices) without building a Module.
 */

let useTransposeFlags = false;

/**
 * On wasm (tfjs 4.22) a matmul with transposeA/transposeB runs ~8x slower than a plain one,
 * and tfjs's matmul gradients use those flags. By default `linear` therefore transposes
 * explicitly (a cheap memory copy) so the forward and both backward matmuls are plain.
 * Set true once transposed matmuls are fast on the active backend to skip the copies.
 */
export function setLinearUsesTransposeFlags(on: boolean): void {
  useTransposeFlags = on;
}

/** x[N, in] @ w[out, in]^T with a custom gradient made only of untransposed matmuls. */
const matMulTransposedB = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  const value = tf.matMul(x as tf.Tensor2D, tf.transpose(w as tf.Tensor2D));
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dx = tf.matMul(dy as tf.Tensor2D, sw);
      const dw = tf.matMul(tf.transpose(dy as tf.Tensor2D), sx);
      return [dx, dw];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;

/**
 * y = x @ weight^T + bias for x of any rank >= 1 with last dim `in`; weight is PyTorch-style
 * [out, in]. Higher-rank inputs are flattened to 2-D first: tfjs's broadcast matmul returns a
 * weight gradient with the batch dimension left in (see tfjs-notes.md).
 */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const [outF, inF] = weight.shape as [number, number];
  if (x.shape[x.rank - 1] !== inF) {
    throw new DetkitError('INVALID_ARGUMENT', `linear: input last dim ${x.shape[x.rank - 1]} != weight in-features ${inF} (input shape [${x.shape}])`);
  }
  return tf.tidy(() => {
    const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, inF]);
    let y = useTransposeFlags ? tf.matMul(x2, weight, false, true) : matMulTransposedB(x2, weight);
    if (bias) y = tf.add(y, bias);
    return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outF]);
  });
}
