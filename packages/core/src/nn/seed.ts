import type { Rng } from '../registry/types.js';

/**
 * Where layers draw random seeds from (weight init, dropout masks). tfjs random ops take an
 * integer seed; we derive a fresh one per call so runs are reproducible from one root seed.
 */
export interface SeedSource {
  nextSeed(): number;
}

/** Deterministic 32-bit generator (mulberry32): small, fast, good enough for seeds. */
export class SeedStream implements SeedSource {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  nextSeed(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    // 31 bits: tfjs seeds go through seedrandom as numbers; keep them positive integers.
    return ((t ^ (t >>> 14)) >>> 0) & 0x7fffffff;
  }
}

/** Adapts the run's Rng service (or a plain number seed) to a SeedSource. */
export function toSeedSource(src: Rng | SeedSource | number | undefined): SeedSource {
  if (src === undefined) return defaultSeeds;
  if (typeof src === 'number') return new SeedStream(src);
  if ('nextSeed' in src) return src;
  return { nextSeed: () => src.int(0x7fffffff) };
}

let defaultSeeds: SeedSource = new SeedStream(0);

/**
 * Root seed for layers built without an explicit seed. Call once before building a model to
 * make its initialization reproducible (construction order then fixes every tensor).
 */
export function setDefaultSeed(seed: number): void {
  defaultSeeds = new SeedStream(seed);
}

export function nextDefaultSeed(): number {
  return defaultSeeds.nextSeed();
}
