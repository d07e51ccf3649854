/** Small deterministic helpers shared by the box / matcher / losses tests. */
import { mulberry32 } from '../src/faster-rcnn/uniform.js';

/** Mulberry32: a seeded PRNG so failures reproduce. */
export const rng = mulberry32;

/** `n` random normalised cxcywh boxes that stay mostly inside the unit square. */
export function randomCxcywh(rand: () => number, n: number): Float64Array {
  const out = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    out[4 * i] = 0.2 + 0.6 * rand();
    out[4 * i + 1] = 0.2 + 0.6 * rand();
    out[4 * i + 2] = 0.05 + 0.45 * rand();
    out[4 * i + 3] = 0.05 + 0.45 * rand();
  }
  return out;
}
