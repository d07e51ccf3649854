/**
 * Distances between a result and its reference, for numeric tests. Plain loops over array-likes
 * (typed arrays, `dataSync()` output, float64 references): no tfjs, so any backend's suite can use
 * them. A length mismatch is Infinity, so a wrong-shaped result never passes a `< tol` check.
 */

/** max |a - b|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}

/**
 * max |a - b| / max(max |b|, floor): the error relative to the reference's scale. Elementwise
 * relative error blows up near 0; this does not. `floor` keeps a reference that is zero in exact
 * arithmetic (rounding noise only) from dividing by noise. An all-zero reference (with floor 0)
 * gives the absolute error.
 */
export function scaledError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  if (Number.isNaN(diff)) return Infinity;
  const s = Math.max(scale, floor);
  return s === 0 ? diff : diff / s;
}

/** max |a - b| / (atol + rtol |b|), numpy's allclose as a number: <= 1 means close. NaN anywhere is Infinity. */
export function closeness(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    const r = d === 0 ? 0 : d / (atol + rtol * Math.abs(b[i]!)); // equal values are close at any tolerance, as in numpy
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}
