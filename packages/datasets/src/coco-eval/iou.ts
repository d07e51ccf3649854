/**
 * Box IoU with maskApi.c's bbIou semantics, boxes as [x, y, w, h]. For a crowd GT the union is
 * the detection's own area (a detection inside a crowd region scores 1), and boxes that touch
 * without overlapping (width or height <= 0) score 0.
 */
export function bboxIou(
  dt: Float64Array,
  d: number,
  gt: Float64Array,
  g: number,
  crowd: boolean,
): number {
  const dx = dt[4 * d], dy = dt[4 * d + 1], dw = dt[4 * d + 2], dh = dt[4 * d + 3];
  const gx = gt[4 * g], gy = gt[4 * g + 1], gw = gt[4 * g + 2], gh = gt[4 * g + 3];
  const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
  if (w <= 0) return 0;
  const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
  if (h <= 0) return 0;
  const inter = w * h;
  const da = dw * dh;
  // Same operation order as the C code ((da + ga) - i) so results agree bit for bit.
  const union = crowd ? da : da + gw * gh - inter;
  return inter / union;
}
