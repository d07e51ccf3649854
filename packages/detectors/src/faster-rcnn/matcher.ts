/** Match values below 0: the box is background, or ignored (between the thresholds). */
export const BELOW_LOW = -1;
export const BETWEEN = -2;

export interface IouMatchOptions {
  /** IoU at or above which a box is foreground (RPN 0.7, box head 0.5). */
  high: number;
  /** IoU below which a box is background (RPN 0.3, box head 0.5). */
  low: number;
  /**
   * Also make foreground, for every ground-truth box, the boxes with its highest IoU (ties
   * included), even below `high`, so that every object gets an anchor (the RPN's rule).
   */
  allowLowQuality: boolean;
}

/**
 * torchvision's `Matcher` on the host: for each of N boxes (anchors or proposals) the index
 * of its best ground-truth box among M, or BELOW_LOW / BETWEEN. `iou` is `[N*M]` row-major.
 */
export function matchByIou(iou: ArrayLike<number>, n: number, m: number, o: IouMatchOptions): Int32Array {
  const out = new Int32Array(n).fill(BELOW_LOW);
  if (m === 0) return out;
  const bestIou = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = -1;
    let arg = 0;
    for (let j = 0; j < m; j++) {
      // First maximum wins, as torch's max over dim 0.
      if (iou[i * m + j]! > best) {
        best = iou[i * m + j]!;
        arg = j;
      }
    }
    bestIou[i] = best;
    out[i] = best >= o.high ? arg : best < o.low ? BELOW_LOW : BETWEEN;
  }
  if (o.allowLowQuality) {
    for (let j = 0; j < m; j++) {
      let best = 0;
      for (let i = 0; i < n; i++) best = Math.max(best, iou[i * m + j]!);
      // torchvision restores the box's own best match (not necessarily gt j) for every tie.
      if (best > 0) for (let i = 0; i < n; i++) if (iou[i * m + j] === best) out[i] = argmaxRow(iou, i, m);
    }
  }
  return out;
}

function argmaxRow(iou: ArrayLike<number>, i: number, m: number): number {
  let arg = 0;
  for (let j = 1; j < m; j++) if (iou[i * m + j]! > iou[i * m + arg]!) arg = j;
  return arg;
}
