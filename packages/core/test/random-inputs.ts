import * as tf from '@tensorflow/tfjs-core';

/**
 * Seeded random inputs for the nn tests (the numeric checks are @detkit/core/testing's). Not a
 * test file itself (ava picks up *.test.ts only).
 */

/** Deterministic pseudo-random floats in [-1, 1), independent of tfjs. */
export function randArray(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push((s / 2 ** 32) * 2 - 1);
  }
  return out;
}

export function randTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randArray(shape.reduce((a, b) => a * b, 1), seed), shape);
}
