import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '@detkit/core';

/**
 * Faster R-CNN's box coder (torchvision `BoxCoder`): a box relative to a reference box as
 *   dx = wx (gx - rx) / rw,  dy = wy (gy - ry) / rh,  dw = ww log(gw / rw),  dh = wh log(gh / rh)
 * with centres (gx, rx, ...) and sizes of xyxy boxes. The RPN uses weights (1, 1, 1, 1), the
 * box head (10, 10, 5, 5): the weights scale the targets to a similar range for smooth L1.
 *
 * Host side (float64 arrays): targets and inference decoding, where every input is already on
 * the host. Tensor side (`decodeTensor`): the student's decoded boxes in the distillation loss,
 * which must carry a gradient to the predicted deltas.
 */
export type BoxWeights = readonly [number, number, number, number];

/** The box head's weights (torchvision's RoI heads): its targets, and KD-DETR's delta space for a CNN student. */
export const ROI_HEAD_BOX_WEIGHTS: BoxWeights = [10, 10, 5, 5];

/** Caps dw, dh before exp (torchvision's bbox_xform_clip = log(1000 / 16)): no overflow from an untrained head. */
export const BBOX_XFORM_CLIP = Math.log(1000 / 16);

export class BoxCoder {
  constructor(
    readonly weights: BoxWeights,
    readonly clip = BBOX_XFORM_CLIP,
  ) {
    if (weights.length !== 4 || weights.some((w) => !(w > 0))) throw new DetkitError('INVALID_ARGUMENT', `BoxCoder: weights must be 4 positive numbers, got [${weights}]`);
  }

  /** Deltas `[N*4]` of xyxy boxes `gt` relative to xyxy `ref` (both `[N*4]`). */
  encode(ref: ArrayLike<number>, gt: ArrayLike<number>): Float64Array {
    if (ref.length !== gt.length || ref.length % 4 !== 0) throw new DetkitError('INVALID_ARGUMENT', `BoxCoder.encode: ${ref.length} reference and ${gt.length} target coordinates`);
    const [wx, wy, ww, wh] = this.weights;
    const out = new Float64Array(ref.length);
    for (let i = 0; i < ref.length; i += 4) {
      const rw = ref[i + 2]! - ref[i]!;
      const rh = ref[i + 3]! - ref[i + 1]!;
      const gw = gt[i + 2]! - gt[i]!;
      const gh = gt[i + 3]! - gt[i + 1]!;
      out[i] = (wx * (gt[i]! + 0.5 * gw - (ref[i]! + 0.5 * rw))) / rw;
      out[i + 1] = (wy * (gt[i + 1]! + 0.5 * gh - (ref[i + 1]! + 0.5 * rh))) / rh;
      out[i + 2] = ww * Math.log(gw / rw);
      out[i + 3] = wh * Math.log(gh / rh);
    }
    return out;
  }

  /**
   * xyxy boxes from deltas. `deltas` holds `K` boxes per reference (`[N*K*4]`, e.g. one per
   * class); the result has the same layout.
   */
  decode(ref: ArrayLike<number>, deltas: ArrayLike<number>): Float64Array {
    const n = ref.length / 4;
    if (!Number.isInteger(n) || deltas.length % Math.max(ref.length, 1) !== 0) {
      throw new DetkitError('INVALID_ARGUMENT', `BoxCoder.decode: ${deltas.length} delta values for ${ref.length / 4} reference boxes`);
    }
    const k = n === 0 ? 0 : deltas.length / ref.length;
    const [wx, wy, ww, wh] = this.weights;
    const out = new Float64Array(deltas.length);
    for (let i = 0; i < n; i++) {
      const rw = ref[4 * i + 2]! - ref[4 * i]!;
      const rh = ref[4 * i + 3]! - ref[4 * i + 1]!;
      const rx = ref[4 * i]! + 0.5 * rw;
      const ry = ref[4 * i + 1]! + 0.5 * rh;
      for (let j = 0; j < k; j++) {
        const o = 4 * (i * k + j);
        const cx = (deltas[o]! / wx) * rw + rx;
        const cy = (deltas[o + 1]! / wy) * rh + ry;
        const w = Math.exp(Math.min(deltas[o + 2]! / ww, this.clip)) * rw;
        const h = Math.exp(Math.min(deltas[o + 3]! / wh, this.clip)) * rh;
        out[o] = cx - 0.5 * w;
        out[o + 1] = cy - 0.5 * h;
        out[o + 2] = cx + 0.5 * w;
        out[o + 3] = cy + 0.5 * h;
      }
    }
    return out;
  }

  /**
   * Differentiable decode to **cxcywh**: `ref` `[N,4]` cxcywh (a constant), `deltas` `[N,K,4]`
   * -> `[N,K,4]` cxcywh in the reference's units. Same formula as `decode`.
   */
  decodeTensor(ref: tf.Tensor2D, deltas: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const n = ref.shape[0];
      const [rx, ry, rw, rh] = tf.split(tf.reshape(ref, [n, 1, 4]), 4, -1);
      const [dx, dy, dw, dh] = tf.split(tf.div(deltas, tf.tensor1d([...this.weights])), 4, -1);
      const cx = tf.add(tf.mul(dx!, rw!), rx!);
      const cy = tf.add(tf.mul(dy!, rh!), ry!);
      const w = tf.mul(tf.exp(tf.minimum(dw!, this.clip)), rw!);
      const h = tf.mul(tf.exp(tf.minimum(dh!, this.clip)), rh!);
      return tf.concat([cx, cy, w, h], -1) as tf.Tensor3D;
    });
  }
}
