import type { Rng } from '../core.js';

// One seeded generator for the whole project: core's (mulberry32 behind a splitmix32 seed).
export { createRng, hashString } from '@detkit/core';

/** Mixes several integers into one 32-bit seed (murmur3 finaliser per step), order-sensitive. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Uniform in [lo, hi) from any Rng. */
export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.next();
}
