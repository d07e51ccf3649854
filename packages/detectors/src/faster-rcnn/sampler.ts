import { DetkitError } from '@detkit/core';

/** A uniform [0, 1) stream (e.g. core's SeededRng.next). */
export type Uniform = () => number;

export interface SampledIndices {
  positive: Int32Array;
  negative: Int32Array;
}

/**
 * torchvision's `BalancedPositiveNegativeSampler` on the host: from boxes labelled
 * foreground (match >= 0) or background (BELOW_LOW; BETWEEN is ignored), draw at most
 * `batchSize * positiveFraction` positives and fill the rest of `batchSize` with negatives,
 * both uniformly without replacement. Indices come back in increasing order.
 */
export function sampleBalanced(matches: ArrayLike<number>, batchSize: number, positiveFraction: number, rand: Uniform, background = -1): SampledIndices {
  if (!Number.isInteger(batchSize) || batchSize < 1 || !(positiveFraction > 0 && positiveFraction <= 1)) {
    throw new DetkitError('INVALID_ARGUMENT', `sampleBalanced: batchSize ${batchSize} must be a positive integer and positiveFraction ${positiveFraction} in (0, 1]`);
  }
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < matches.length; i++) {
    if (matches[i]! >= 0) pos.push(i);
    else if (matches[i] === background) neg.push(i);
  }
  const numPos = Math.min(pos.length, Math.floor(batchSize * positiveFraction));
  const numNeg = Math.min(neg.length, batchSize - numPos);
  return { positive: choose(pos, numPos, rand), negative: choose(neg, numNeg, rand) };
}

/** `k` of `items` without replacement (partial Fisher-Yates), sorted. */
function choose(items: number[], k: number, rand: Uniform): Int32Array {
  const a = items.slice();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return Int32Array.from(a.slice(0, k)).sort();
}
