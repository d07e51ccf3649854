import * as tf from '@tensorflow/tfjs-core';

/**
 * Sine positional encodings of DETR (`models/position_encoding.py`) and DAB-DETR
 * (`gen_sineembed_for_position`). Channel k of a coordinate's `numFeats` features is
 * sin(x / T^(2*floor(k/2)/numFeats)) for even k and cos(...) for odd k (sin/cos interleaved,
 * as the reference's stack-then-flatten gives). Built with one sin, one cos and a parity
 * blend, so no strided slices (whose gradient tfjs lacks) are needed.
 */

export interface SineOptions {
  /** Features per coordinate (DETR: d/2). */
  numFeats: number;
  temperature?: number;
}

/** `[..., 1]` coordinate -> `[..., numFeats]` interleaved sin/cos features. */
function sineFeatures(coord: tf.Tensor, numFeats: number, temperature: number): tf.Tensor {
  const inv = new Float32Array(numFeats);
  const even = new Float32Array(numFeats);
  for (let k = 0; k < numFeats; k++) {
    inv[k] = 1 / Math.pow(temperature, (2 * Math.floor(k / 2)) / numFeats);
    even[k] = k % 2 === 0 ? 1 : 0;
  }
  const arg = tf.mul(coord, tf.tensor1d(inv));
  const e = tf.tensor1d(even);
  return tf.add(tf.mul(tf.sin(arg), e), tf.mul(tf.cos(arg), tf.sub(1, e)));
}

export interface SinePositionOptions extends SineOptions {
  /** Normalise cumulative positions by the unpadded extent, then multiply by `scale` (DETR: true, 2π). */
  normalize?: boolean;
  scale?: number;
}

/**
 * DETR's PositionEmbeddingSine over a padding mask `[B,h,w]` (1 = real pixel) -> `[B,h,w,2*numFeats]`
 * (y features first, then x). Positions are cumulative counts of real pixels, so padding
 * does not shift the encoding of the real image; with `normalize` they are divided by the
 * last row / column of the count (+1e-6) and multiplied by `scale`.
 */
export function sinePositionEmbedding(mask: tf.Tensor3D, opts: SinePositionOptions): tf.Tensor4D {
  const temperature = opts.temperature ?? 10000;
  const normalize = opts.normalize ?? true;
  const scale = opts.scale ?? 2 * Math.PI;
  return tf.tidy(() => {
    const [, h, w] = mask.shape;
    let y: tf.Tensor = tf.cumsum(mask, 1);
    let x: tf.Tensor = tf.cumsum(mask, 2);
    if (normalize) {
      const eps = 1e-6;
      y = tf.mul(tf.div(y, tf.add(tf.slice(y, [0, h - 1, 0], [-1, 1, -1]), eps)), scale);
      x = tf.mul(tf.div(x, tf.add(tf.slice(x, [0, 0, w - 1], [-1, -1, 1]), eps)), scale);
    }
    const py = sineFeatures(tf.expandDims(y, -1), opts.numFeats, temperature);
    const px = sineFeatures(tf.expandDims(x, -1), opts.numFeats, temperature);
    return tf.concat([py, px], -1) as tf.Tensor4D;
  });
}

/**
 * DAB-DETR's `gen_sineembed_for_position`: sigmoid-space boxes `[..., 2 or 4]` (cx, cy[, w, h])
 * -> `[..., k*numFeats]` in the order (y, x[, w, h]), each coordinate scaled by 2π first.
 * Differentiable in the boxes (anchors learn through it).
 */
export function sineEmbedForPosition(boxes: tf.Tensor, opts: SineOptions): tf.Tensor {
  const temperature = opts.temperature ?? 10000;
  return tf.tidy(() => {
    const k = boxes.shape[boxes.rank - 1];
    const parts = tf.split(tf.mul(boxes, 2 * Math.PI), k, -1);
    const feats = parts.map((p) => sineFeatures(p, opts.numFeats, temperature));
    // Reference order: pos_y, pos_x, then pos_w, pos_h.
    const ordered = [feats[1]!, feats[0]!, ...feats.slice(2)];
    return tf.concat(ordered, -1);
  });
}
