import { BOX_EPS } from './boxOps.js';

/**
 * Plain-JS float64 box operations on flat `[N*4]` arrays: the matcher's CPU path and the
 * independent reference the tfjs versions are tested against. Same formulas (and the same
 * `BOX_EPS` guard) as `boxOps.ts`.
 */
export type BoxArray = ArrayLike<number>;

export function cxcywhToXyxy64(boxes: BoxArray): Float64Array {
  const out = new Float64Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const cx = boxes[i], cy = boxes[i + 1], w = boxes[i + 2], h = boxes[i + 3];
    out[i] = cx - 0.5 * w;
    out[i + 1] = cy - 0.5 * h;
    out[i + 2] = cx + 0.5 * w;
    out[i + 3] = cy + 0.5 * h;
  }
  return out;
}

export function xyxyToCxcywh64(boxes: BoxArray): Float64Array {
  const out = new Float64Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const x0 = boxes[i], y0 = boxes[i + 1], x1 = boxes[i + 2], y1 = boxes[i + 3];
    out[i] = 0.5 * (x0 + x1);
    out[i + 1] = 0.5 * (y0 + y1);
    out[i + 2] = x1 - x0;
    out[i + 3] = y1 - y0;
  }
  return out;
}

export function boxArea64(boxes: BoxArray): Float64Array {
  const out = new Float64Array(boxes.length / 4);
  for (let k = 0; k < out.length; k++) {
    const i = 4 * k;
    out[k] = (boxes[i + 2] - boxes[i]) * (boxes[i + 3] - boxes[i + 1]);
  }
  return out;
}

/** IoU, union and GIoU of box `i` of `a` with box `j` of `b` (xyxy). */
export function pairGiou64(a: BoxArray, i: number, b: BoxArray, j: number): { iou: number; union: number; giou: number } {
  const ax0 = a[4 * i], ay0 = a[4 * i + 1], ax1 = a[4 * i + 2], ay1 = a[4 * i + 3];
  const bx0 = b[4 * j], by0 = b[4 * j + 1], bx1 = b[4 * j + 2], by1 = b[4 * j + 3];
  const areaA = (ax1 - ax0) * (ay1 - ay0);
  const areaB = (bx1 - bx0) * (by1 - by0);
  const iw = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0));
  const ih = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
  const inter = iw * ih;
  const union = areaA + areaB - inter;
  const iou = inter / (union + BOX_EPS);
  const cw = Math.max(0, Math.max(ax1, bx1) - Math.min(ax0, bx0));
  const ch = Math.max(0, Math.max(ay1, by1) - Math.min(ay0, by0));
  const enclosing = cw * ch;
  return { iou, union, giou: iou - (enclosing - union) / (enclosing + BOX_EPS) };
}

/** Pairwise IoU `[N,M]` (row-major) of xyxy boxes. */
export function boxIou64(a: BoxArray, b: BoxArray): Float64Array {
  return pairwise(a, b, (i, j) => pairGiou64(a, i, b, j).iou);
}

/** Pairwise GIoU `[N,M]` (row-major) of xyxy boxes. */
export function generalizedBoxIou64(a: BoxArray, b: BoxArray): Float64Array {
  return pairwise(a, b, (i, j) => pairGiou64(a, i, b, j).giou);
}

/** GIoU of matched pairs `[N]` of xyxy boxes. */
export function elementwiseGiou64(a: BoxArray, b: BoxArray): Float64Array {
  const out = new Float64Array(a.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = pairGiou64(a, i, b, i).giou;
  return out;
}

function pairwise(a: BoxArray, b: BoxArray, f: (i: number, j: number) => number): Float64Array {
  const n = a.length / 4, m = b.length / 4;
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = f(i, j);
  return out;
}

/** Normalised cxcywh -> xyxy pixels of a `width x height` image. */
export function scaleBoxesToPixels64(boxes: BoxArray, width: number, height: number): Float64Array {
  const out = cxcywhToXyxy64(boxes);
  for (let i = 0; i < out.length; i += 4) {
    out[i] *= width;
    out[i + 1] *= height;
    out[i + 2] *= width;
    out[i + 3] *= height;
  }
  return out;
}

/** xyxy pixels -> normalised cxcywh relative to `width x height`. */
export function normalizeBoxes64(boxes: BoxArray, width: number, height: number): Float64Array {
  const scaled = new Float64Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    scaled[i] = boxes[i] / width;
    scaled[i + 1] = boxes[i + 1] / height;
    scaled[i + 2] = boxes[i + 2] / width;
    scaled[i + 3] = boxes[i + 3] / height;
  }
  return xyxyToCxcywh64(scaled);
}

/** Scalar DAB-DETR inverse sigmoid (see `inverseSigmoid`). */
export function inverseSigmoid64(x: number, eps = 1e-3): number {
  const c = Math.min(1, Math.max(0, x));
  return Math.log(Math.max(c, eps) / Math.max(1 - c, eps));
}
