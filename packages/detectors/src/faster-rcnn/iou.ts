/**
 * Pairwise IoU of xyxy boxes on the host, float64: `a` `[N*4]`, `b` `[M*4]` -> `[N*M]`
 * row-major (torchvision `box_iou`, no +1 on widths). Matching anchors and proposals to
 * ground truth needs only host values, so it runs here rather than as tensors.
 */
export function pairwiseIou(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const n = a.length / 4;
  const m = b.length / 4;
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const ax0 = a[4 * i]!, ay0 = a[4 * i + 1]!, ax1 = a[4 * i + 2]!, ay1 = a[4 * i + 3]!;
    const areaA = (ax1 - ax0) * (ay1 - ay0);
    for (let j = 0; j < m; j++) out[i * m + j] = iouOf(ax0, ay0, ax1, ay1, areaA, b, j);
  }
  return out;
}

/** IoU of box i of `a` with box j of `b`. */
export function boxPairIou(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const ax0 = a[4 * i]!, ay0 = a[4 * i + 1]!, ax1 = a[4 * i + 2]!, ay1 = a[4 * i + 3]!;
  return iouOf(ax0, ay0, ax1, ay1, (ax1 - ax0) * (ay1 - ay0), b, j);
}

function iouOf(ax0: number, ay0: number, ax1: number, ay1: number, areaA: number, b: ArrayLike<number>, j: number): number {
  const bx0 = b[4 * j]!, by0 = b[4 * j + 1]!, bx1 = b[4 * j + 2]!, by1 = b[4 * j + 3]!;
  const iw = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0));
  const ih = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
  const inter = iw * ih;
  const union = areaA + (bx1 - bx0) * (by1 - by0) - inter;
  return union > 0 ? inter / union : 0;
}
