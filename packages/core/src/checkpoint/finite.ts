import type * as tf from '@tensorflow/tfjs-core';

export interface NonFinite {
  name: string;
  /** How many of the tensor's values are NaN or +-Infinity. */
  count: number;
  size: number;
  /** The first one (NaN, Infinity or -Infinity). */
  first: number;
}

/**
 * The first float tensor holding NaN or +-Infinity, or undefined. Reads each float tensor to
 * the host once (asynchronously: webgpu has no synchronous read in Node): meant for load and
 * save, where the data passes through the host anyway.
 */
export async function firstNonFinite(tensors: Iterable<[string, tf.Tensor]>): Promise<NonFinite | undefined> {
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32') continue;
    const data = (await t.data()) as Float32Array;
    let count = 0;
    let first = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v - v !== 0) {
        // v - v is NaN exactly for NaN and +-Infinity: one test for both.
        if (count === 0) first = v;
        count++;
      }
    }
    if (count > 0) return { name, count, size: data.length, first };
  }
  return undefined;
}

/** `tensor 'x' holds 3 non-finite values of 12 (first: NaN)`. */
export function describeNonFinite(bad: NonFinite, prefix = ''): string {
  return `tensor '${prefix}${bad.name}' holds ${bad.count} non-finite value${bad.count > 1 ? 's' : ''} of ${bad.size} (first: ${bad.first})`;
}
