import * as tf from '@tensorflow/tfjs-core';
import { fusedPairGiou } from '@detkit/core';

/**
 * Differentiable box operations on tfjs tensors, following DETR's `util/box_ops.py`.
 * Boxes are `[..., 4]`; `cxcywh` is (centre x, centre y, width, height), `xyxy` is
 * (x0, y0, x1, y1). Coordinates are split with `tf.split` (gradient: concat), never with
 * strided slices (whose gradient tfjs lacks).
 */

/** Guards the divisions in IoU / GIoU against degenerate (zero-area) boxes. DETR uses none;
 * 1e-7 is far below any real normalised box area (a 1x1 pixel box in 1000x1000 is 1e-6). */
export const BOX_EPS = 1e-7;

function coords(boxes: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.split(boxes, 4, -1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
}

export function boxCxcywhToXyxy<T extends tf.Tensor>(boxes: T): T {
  return tf.tidy(() => {
    const [cx, cy, w, h] = coords(boxes);
    const hw = tf.mul(w, 0.5);
    const hh = tf.mul(h, 0.5);
    return tf.concat([tf.sub(cx, hw), tf.sub(cy, hh), tf.add(cx, hw), tf.add(cy, hh)], -1) as T;
  });
}

export function boxXyxyToCxcywh<T extends tf.Tensor>(boxes: T): T {
  return tf.tidy(() => {
    const [x0, y0, x1, y1] = coords(boxes);
    return tf.concat(
      [tf.mul(tf.add(x0, x1), 0.5), tf.mul(tf.add(y0, y1), 0.5), tf.sub(x1, x0), tf.sub(y1, y0)],
      -1,
    ) as T;
  });
}

/** Area of xyxy boxes `[..., 4]` -> `[...]`. Not clamped: inverted boxes give negative areas, as in DETR. */
export function boxArea(boxes: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [x0, y0, x1, y1] = coords(boxes);
    return tf.squeeze(tf.mul(tf.sub(x1, x0), tf.sub(y1, y0)), [-1]);
  });
}

/**
 * Coordinates of `[N,4]` and `[M,4]` boxes, each broadcast explicitly to `[N,M]`. Explicit because
 * tfjs 4.22's Maximum/Minimum gradients do not reduce over broadcast axes (shape error).
 */
function pairwiseCoords(a: tf.Tensor2D, b: tf.Tensor2D) {
  const shape: [number, number] = [a.shape[0], b.shape[0]];
  const ca = coords(a).map((c) => tf.broadcastTo(c, shape));
  const cb = coords(b).map((c) => tf.broadcastTo(tf.reshape(c, [1, -1]), shape));
  return { ca, cb };
}

/** Pairwise IoU and union of xyxy boxes: `[N,4] x [M,4] -> [N,M]` each. */
export function boxIouWithUnion(a: tf.Tensor2D, b: tf.Tensor2D): { iou: tf.Tensor2D; union: tf.Tensor2D } {
  return tf.tidy(() => {
    if (a.shape[0] === 0 || b.shape[0] === 0) {
      return { iou: tf.zeros([a.shape[0], b.shape[0]]) as tf.Tensor2D, union: tf.zeros([a.shape[0], b.shape[0]]) as tf.Tensor2D };
    }
    const { ca, cb } = pairwiseCoords(a, b);
    return iouParts(ca, cb) as { iou: tf.Tensor2D; union: tf.Tensor2D };
  });
}

/** Pairwise IoU of xyxy boxes: `[N,4] x [M,4] -> [N,M]`. */
export function boxIou(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => boxIouWithUnion(a, b).iou);
}

type Four = tf.Tensor[];

/** IoU from coordinate pieces that broadcast against each other (pairwise or elementwise). */
function iouParts(ca: Four, cb: Four): { iou: tf.Tensor; union: tf.Tensor } {
  const [ax0, ay0, ax1, ay1] = ca;
  const [bx0, by0, bx1, by1] = cb;
  const areaA = tf.mul(tf.sub(ax1, ax0), tf.sub(ay1, ay0));
  const areaB = tf.mul(tf.sub(bx1, bx0), tf.sub(by1, by0));
  const iw = tf.relu(tf.sub(tf.minimum(ax1, bx1), tf.maximum(ax0, bx0)));
  const ih = tf.relu(tf.sub(tf.minimum(ay1, by1), tf.maximum(ay0, by0)));
  const inter = tf.mul(iw, ih);
  const union = tf.sub(tf.add(areaA, areaB), inter);
  return { iou: tf.div(inter, tf.add(union, BOX_EPS)), union };
}

/** GIoU = IoU - (C - U) / C with C the area of the smallest enclosing box. */
function giouParts(ca: Four, cb: Four): tf.Tensor {
  const { iou, union } = iouParts(ca, cb);
  const [ax0, ay0, ax1, ay1] = ca;
  const [bx0, by0, bx1, by1] = cb;
  const cw = tf.relu(tf.sub(tf.maximum(ax1, bx1), tf.minimum(ax0, bx0)));
  const ch = tf.relu(tf.sub(tf.maximum(ay1, by1), tf.minimum(ay0, by0)));
  const enclosing = tf.mul(cw, ch);
  return tf.sub(iou, tf.div(tf.sub(enclosing, union), tf.add(enclosing, BOX_EPS)));
}

/** Pairwise generalised IoU of xyxy boxes: `[N,4] x [M,4] -> [N,M]`, in [-1, 1]. */
export function generalizedBoxIou(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    if (a.shape[0] === 0 || b.shape[0] === 0) return tf.zeros([a.shape[0], b.shape[0]]) as tf.Tensor2D;
    const { ca, cb } = pairwiseCoords(a, b);
    return giouParts(ca, cb) as tf.Tensor2D;
  });
}

/** GIoU of matched pairs of xyxy boxes: `[N,4], [N,4] -> [N]` (the diagonal of the pairwise matrix, in O(N)). */
export function elementwiseGiou(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => (a.shape[0] === 0 ? tf.zeros([0]) : tf.reshape(giouParts(coords(a), coords(b)), [-1])) as tf.Tensor1D);
}

/**
 * GIoU of matched pairs of normalised cxcywh boxes: `[N,4], [N,4] -> [N]`, as
 * `elementwiseGiou(boxCxcywhToXyxy(a), boxCxcywhToXyxy(b))`; on a backend with core's fused kernel
 * (webgpu) one program forward and one per gradient instead of ~45 and ~70.
 */
export function pairGiouCxcywh(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  const fused = fusedPairGiou(a, b, BOX_EPS);
  if (fused) return fused as tf.Tensor1D;
  return tf.tidy(() => elementwiseGiou(boxCxcywhToXyxy(a), boxCxcywhToXyxy(b)));
}

/** IoU of matched pairs of xyxy boxes: `[N,4], [N,4] -> [N]`. */
export function elementwiseIou(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => (a.shape[0] === 0 ? tf.zeros([0]) : tf.reshape(iouParts(coords(a), coords(b)).iou, [-1])) as tf.Tensor1D);
}

/** Normalised cxcywh `[..., 4]` (relative to an image of `width x height`) -> xyxy pixels. */
export function scaleBoxesToPixels<T extends tf.Tensor>(boxes: T, width: number, height: number): T {
  return tf.tidy(() => tf.mul(boxCxcywhToXyxy(boxes), tf.tensor1d([width, height, width, height])) as T);
}

/** xyxy pixels `[..., 4]` -> normalised cxcywh relative to `width x height`. */
export function normalizeBoxes<T extends tf.Tensor>(boxes: T, width: number, height: number): T {
  return tf.tidy(() => boxXyxyToCxcywh(tf.div(boxes, tf.tensor1d([width, height, width, height]))) as T);
}

/** Clamp used by DAB-DETR's `inverse_sigmoid` (`eps=1e-3`); Deformable DETR and DINO use 1e-5. */
export const INVERSE_SIGMOID_EPS = 1e-3;

/**
 * log(x / (1 - x)) with x clamped to [0, 1] and both x and 1 - x clamped below at `eps`
 * (DAB-DETR `util/misc.py`), so a box coordinate of exactly 0 or 1 maps to a finite value
 * (±6.9 at eps 1e-3). Default eps is DAB-DETR's 1e-3; pass 1e-5 for Deformable DETR / DINO.
 */
export function inverseSigmoid<T extends tf.Tensor>(x: T, eps = INVERSE_SIGMOID_EPS): T {
  return tf.tidy(() => {
    const c = tf.clipByValue(x, 0, 1);
    const x1 = tf.maximum(c, eps);
    const x2 = tf.maximum(tf.sub(1, c), eps);
    return tf.log(tf.div(x1, x2)) as T;
  });
}
