/** Edit distance (insert, delete, substitute; unit costs), two-row dynamic programme. */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, sub);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/**
 * The known name closest to `wanted`, or undefined when nothing is close enough to be a
 * plausible typo. Case-insensitive; a scoped name (`kd-detr/distill`) also matches on its
 * unscoped part, so `distill` suggests `kd-detr/distill`.
 */
export function suggest(wanted: string, known: Iterable<string>): string | undefined {
  const w = wanted.toLowerCase();
  let best: string | undefined;
  let bestDist = Infinity;
  for (const name of known) {
    const n = name.toLowerCase();
    const unscoped = n.includes('/') ? n.slice(n.lastIndexOf('/') + 1) : n;
    const d = Math.min(levenshtein(w, n), levenshtein(w, unscoped));
    if (d < bestDist) {
      bestDist = d;
      best = name;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  return bestDist <= limit ? best : undefined;
}
