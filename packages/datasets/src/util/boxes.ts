export type Box = [number, number, number, number];

/** Intersection over the SMALLER box's area: 1 when one box lies inside the other, whatever their sizes. */
export function intersectionOverSmaller(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const areaA = (a[2] - a[0]) * (a[3] - a[1]);
  const areaB = (b[2] - b[0]) * (b[3] - b[1]);
  return (iw * ih) / Math.min(areaA, areaB);
}

/** Tight [x0, y0, x1, y1) bounds of the pixels where `ink(i)` holds in an h x w grid, or undefined. */
export function tightBounds(h: number, w: number, ink: (i: number) => boolean): Box | undefined {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!ink(y * w + x)) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? undefined : [x0, y0, x1 + 1, y1 + 1];
}
