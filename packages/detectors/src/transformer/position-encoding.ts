import * as tf from '@tensorflow/tfjs-core';

/**
 * Sine positional encodings of DETR (`models/position_encoding.py`) and DAB-DETR
 * (`gen_sineembed_for_position`). Channel k of a coordinate's `numFeats` features is
 * sin(x / T^(2*floor(k/2)/numFeats)) for even k and cos(...) for odd k (sin/cos interleaved,
 * as the reference's stack-then-flatten gives). Built with one sin of a per-channel phase
 * shifted argument, so no strided slices (whose gradient tfjs lacks) are needed.
 */

export interface SineOptions {
  /** Features per coordinate (DETR: d/2). */
  numFeats: number;
  temperature?: number;
}

/** Per-feature frequency and phase: channel k is sin(x * inv[k] + phase[k]), cos as sin(. + pi/2). */
function sineTables(numFeats: number, temperature: number): { inv: tf.Tensor1D; phase: tf.Tensor1D } {
  const inv = new Float32Array(numFeats);
  const phase = new Float32Array(numFeats);
  for (let k = 0; k < numFeats; k++) {
    inv[k] = 1 / Math.pow(temperature, (2 * Math.floor(k / 2)) / numFeats);
    phase[k] = k % 2 === 0 ? 0 : Math.PI / 2;
  }
  return { inv: tf.tensor1d(inv), phase: tf.tensor1d(phase) };
}

/**
 * `[..., 1]` coordinate -> `[..., numFeats]` interleaved sin/cos features. One sin over the
 * features (cos x = sin(x + pi/2)): sin and cos are slow scalar kernels on wasm (~30 ns per
 * element), and a sin + cos + parity blend computed both for every feature.
 */
function sineFeatures(coord: tf.Tensor, numFeats: number, temperature: number): tf.Tensor {
  const { inv, phase } = sineTables(numFeats, temperature);
  return tf.sin(tf.add(tf.mul(coord, inv), phase));
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
    const k = boxes.shape[boxes.rank - 1]!;
    // Reference order: pos_y, pos_x, then pos_w, pos_h. Reorder the (small) box tensor, then
    // one sin over [..., k, numFeats] for all coordinates at once.
    const parts = tf.split(boxes, k, -1);
    const ordered = tf.concat([parts[1]!, parts[0]!, ...parts.slice(2)], -1);
    const feats = sineFeatures(tf.expandDims(tf.mul(ordered, 2 * Math.PI), -1), opts.numFeats, temperature);
    return tf.reshape(feats, [...boxes.shape.slice(0, -1), k * opts.numFeats]);
  });
}
