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

/** Central finite differences of a scalar float64 function of a flat vector. */
export function finiteDiff(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  const xp = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    const x0 = xp[i];
    xp[i] = x0 + h;
    const fp = f(xp);
    xp[i] = x0 - h;
    const fm = f(xp);
    xp[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** Largest |a - b| / (atol + rtol |b|): <= 1 means close. */
export function closeness(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const r = Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i]));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : Math.max(worst, r);
  }
  return worst;
}
