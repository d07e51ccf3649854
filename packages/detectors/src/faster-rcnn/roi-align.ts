import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '@detkit/core';

/**
 * RoIAlign (He et al., Mask R-CNN; torchvision `roi_align` semantics) for boxes that are
 * constants: proposals are detached, so the sampling positions and bilinear weights are
 * host numbers and the only gradient is the one to the features.
 *
 * Bilinear sampling separates: a sample at (y, x) weighs feature (row, col) by
 * `wy(row) * wx(col)`, and the bin average over a `g x g` grid of samples is the product of
 * the row average and the column average. So for each RoI the `P x P` output is
 *   out = Ay [P,H] . F [H,W,C] . Ax^T [W,P]
 * with two small interpolation matrices built on the host (O(P(H+W)) numbers per RoI, instead
 * of 4 g^2 P^2 gather indices). Per FPN level the RoIs of every image are padded to the same
 * count and both products are batched matmuls; a final `gather` puts the RoIs back in order
 * (its gradient is UnsortedSegmentSum). Identical in value to the per-sample formulation
 * (tested against a float64 loop of torchvision's kernel, and by finite differences).
 */
export interface RoiAlignOptions {
  /** Output cells per side (Faster R-CNN: 7). */
  outputSize: number;
  /** Samples per bin per axis (torchvision's MultiScaleRoIAlign: 2). Adaptive (<= 0) is not supported. */
  samplingRatio: number;
  /** Half-pixel offset (Detectron2's ROIAlignV2, torchvision `aligned=True`): a box edge at pixel x samples at x - 0.5 on the pixel grid. */
  aligned: boolean;
}

export interface FeatureLevel {
  /** `[B,H,W,C]`; every level has the same C. */
  features: tf.Tensor4D;
  /** Input pixels per feature cell. */
  stride: number;
}

export interface Rois {
  /** Image of each RoI `[R]`. */
  imageIndex: ArrayLike<number>;
  /** `[R*4]` xyxy in input pixels. */
  boxes: ArrayLike<number>;
  /** Index into the levels array for each RoI `[R]`. */
  level: ArrayLike<number>;
}

/**
 * The averaged bilinear weights along one axis for one RoI: `[P*size]`, row p holding the
 * weight of every feature row (or column) in output cell p. Zero where a sample falls more
 * than one cell outside the map (torchvision returns 0 there).
 */
export function axisWeights(start: number, length: number, size: number, o: RoiAlignOptions): Float64Array {
  const p = o.outputSize;
  const g = o.samplingRatio;
  const bin = (o.aligned ? length : Math.max(length, 1)) / p;
  const out = new Float64Array(p * size);
  for (let c = 0; c < p; c++) {
    for (let i = 0; i < g; i++) {
      let y = start + c * bin + ((i + 0.5) * bin) / g;
      if (y < -1 || y > size) continue;
      if (y <= 0) y = 0;
      let low = Math.floor(y);
      let high = low + 1;
      if (low >= size - 1) {
        low = high = size - 1;
        y = low;
      }
      const frac = y - low;
      out[c * size + low]! += (1 - frac) / g;
      out[c * size + high]! += frac / g;
    }
  }
  return out;
}

/** `[R,P,P,C]` pooled features of `rois` (constants) from `levels`. */
export function roiAlign(levels: readonly FeatureLevel[], rois: Rois, o: RoiAlignOptions): tf.Tensor4D {
  if (!(Number.isInteger(o.outputSize) && o.outputSize > 0 && Number.isInteger(o.samplingRatio) && o.samplingRatio > 0)) {
    throw new DetkitError('INVALID_ARGUMENT', `roiAlign: outputSize ${o.outputSize} and samplingRatio ${o.samplingRatio} must be positive integers`);
  }
  const r = rois.imageIndex.length;
  const c = levels[0]!.features.shape[3];
  const p = o.outputSize;
  if (rois.boxes.length !== 4 * r || rois.level.length !== r) throw new DetkitError('INVALID_ARGUMENT', `roiAlign: ${r} RoIs with ${rois.boxes.length / 4} boxes and ${rois.level.length} levels`);
  if (r === 0) return tf.zeros([0, p, p, c]);
  const offset = o.aligned ? 0.5 : 0;
  return tf.tidy(() => {
    const pieces: tf.Tensor[] = [];
    const order = new Int32Array(r); // row of RoI k in the concatenated per-level output
    let rowBase = 0;
    levels.forEach((lv, l) => {
      const [b, h, w] = lv.features.shape;
      if (lv.features.shape[3] !== c) throw new DetkitError('INVALID_ARGUMENT', `roiAlign: level ${l} has ${lv.features.shape[3]} channels, level 0 has ${c}`);
      const slots = new Int32Array(b);
      const slotOf = new Int32Array(r).fill(-1);
      for (let k = 0; k < r; k++) {
        if (rois.level[k] !== l) continue;
        const img = rois.imageIndex[k]!;
        if (!(img >= 0 && img < b)) throw new DetkitError('INVALID_ARGUMENT', `roiAlign: RoI ${k} names image ${img} of a batch of ${b}`);
        slotOf[k] = slots[img]!++;
      }
      const n = Math.max(0, ...slots);
      if (n === 0) return;
      const ay = new Float32Array(b * n * p * h);
      const ax = new Float32Array(b * n * p * w);
      const scale = 1 / lv.stride;
      for (let k = 0; k < r; k++) {
        if (slotOf[k]! < 0) continue;
        const row = rois.imageIndex[k]! * n + slotOf[k]!;
        const [x0, y0, x1, y1] = [0, 1, 2, 3].map((i) => rois.boxes[4 * k + i]! * scale);
        ay.set(axisWeights(y0! - offset, y1! - y0!, h, o), row * p * h);
        ax.set(axisWeights(x0! - offset, x1! - x0!, w, o), row * p * w);
        order[k] = rowBase + row;
      }
      rowBase += b * n;
      // Rows: [B, n*P, H] x [B, H, W*C] -> [B, n*P, W*C]; then columns per RoI.
      const rowsPooled = tf.matMul(tf.tensor3d(ay, [b, n * p, h]), tf.reshape(lv.features, [b, h, w * c]));
      const perRoi = tf.reshape(tf.transpose(tf.reshape(rowsPooled, [b * n, p, w, c]), [0, 2, 1, 3]), [b * n, w, p * c]);
      const pooled = tf.matMul(tf.tensor3d(ax, [b * n, p, w]), perRoi); // [b*n, P(x), P(y)*C]
      pieces.push(tf.transpose(tf.reshape(pooled, [b * n, p, p, c]), [0, 2, 1, 3]));
    });
    const all = pieces.length === 1 ? pieces[0]! : tf.concat(pieces, 0);
    return tf.gather(all, tf.tensor1d(order, 'int32')) as tf.Tensor4D;
  });
}

export interface LevelMapperOptions {
  /** A box whose sqrt(area) is `canonicalScale` goes to `canonicalLevel` (FPN paper: 224 -> 4). */
  canonicalScale: number;
  canonicalLevel: number;
  /** log2 of the finest and coarsest pooled strides. */
  minLevel: number;
  maxLevel: number;
}

/**
 * FPN's level assignment (eq. 1, torchvision `LevelMapper`): `k = floor(k0 + log2(sqrt(wh) /
 * s0) + 1e-6)`, clamped to [minLevel, maxLevel]; returned relative to minLevel (an index into
 * the pooled levels). Host side: boxes are constants.
 */
export function mapLevels(boxes: ArrayLike<number>, o: LevelMapperOptions): Int32Array {
  const out = new Int32Array(boxes.length / 4);
  for (let i = 0; i < out.length; i++) {
    const s = Math.sqrt(Math.max((boxes[4 * i + 2]! - boxes[4 * i]!) * (boxes[4 * i + 3]! - boxes[4 * i + 1]!), 0));
    const k = Math.floor(o.canonicalLevel + Math.log2(s / o.canonicalScale) + 1e-6);
    out[i] = Math.min(Math.max(Number.isFinite(k) ? k : o.minLevel, o.minLevel), o.maxLevel) - o.minLevel;
  }
  return out;
}
