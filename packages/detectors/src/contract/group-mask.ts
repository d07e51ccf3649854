import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '@detkit/core';

/** Additive mask value for "may not attend". Finite, so a fully masked row gives no NaN; exp() of it is exactly 0 in float32. */
export const MASKED = -1e9;

/**
 * Block-diagonal additive self-attention mask `[N,N]` for query blocks of the given sizes
 * (N = sum of sizes): 0 inside a block, MASKED across blocks. Used to decode several query
 * groups in one pass without any of them seeing the others.
 */
export function blockDiagonalMask(sizes: readonly number[]): tf.Tensor2D {
  const n = sizes.reduce((s, v) => s + v, 0);
  for (const s of sizes) if (!Number.isInteger(s) || s < 0) throw new DetkitError('INVALID_ARGUMENT', `blockDiagonalMask: block size ${s} is not a non-negative integer`);
  const m = new Float32Array(n * n).fill(MASKED);
  let start = 0;
  for (const s of sizes) {
    for (let i = start; i < start + s; i++) m.fill(0, i * n + start, i * n + start + s);
    start += s;
  }
  return tf.tensor2d(m, [n, n]);
}
