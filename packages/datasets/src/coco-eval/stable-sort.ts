/**
 * Indices [from, to) ordered by score descending; ties keep input order, as numpy's
 * argsort(-scores, kind='mergesort') does (a stable sort is what makes tied scores reproducible).
 */
export function argsortDescStable(scores: Float64Array, from: number, to: number): number[] {
  const idx: number[] = new Array(to - from);
  for (let j = 0; j < idx.length; j++) idx[j] = from + j;
  // Array.prototype.sort is stable (ES2019); the explicit index tie-break documents intent.
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx;
}
