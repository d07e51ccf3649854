import type { Rng } from '../registry/types.js';

/**
 * Seeded random numbers: mulberry32 for the stream (fast, 32-bit state, good enough for data
 * order and augmentation), splitmix32 to derive seeds. `fork(label)` depends only on this
 * generator's *seed* and the label, never on how many numbers were drawn, so a forked stream
 * (e.g. the loader's) is a pure function of (run seed, label) and resumes reproducibly.
 */
export class SeededRng implements Rng {
  readonly seed: number;
  private state: number;
  /** Second Box-Muller value, kept for the next `normal()` call. */
  private spare: number | undefined;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.state = splitmix32(this.seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next(); // log(0) guard
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An independent stream named `label`, the same for the same (seed, label) whatever was drawn before. */
  fork(label: string): SeededRng {
    return new SeededRng(splitmix32(this.seed ^ hashString(label)));
  }

  /** The stream position, for checkpoints. */
  getState(): { seed: number; state: number } {
    return { seed: this.seed, state: this.state };
  }

  setState(s: { state: number }): void {
    this.state = s.state | 0;
    this.spare = undefined;
  }
}

export function createRng(seed: number): SeededRng {
  return new SeededRng(seed);
}

/** splitmix32 finaliser: spreads nearby seeds (0, 1, 2...) into unrelated states. */
export function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over UTF-16 code units: a stable 32-bit hash of a label. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
