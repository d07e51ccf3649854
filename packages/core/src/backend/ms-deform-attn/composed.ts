/**
 * Multi-scale deformable attention from stock tfjs ops: one gather of every bilinear corner
 * of every sample, weighted and summed by a batched matmul. The test reference for the kernels
 * and the path on backends without them (tensorflow; webgpu without detkit's kernels installed).
 * Integer corners, in-bounds masks and value-row indices are computed from an untracked copy of
 * the locations (off the tape); only the fractional parts carry the location gradient, and the
 * gather carries the value gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { stopGradient } from '../../nn/stop-gradient.js';

/**
 * value [B,S,H,Dh], locations [B,Q,H,L,P,2] (x, y in [0,1]), weights [B,Q,H,L,P] ->
 * [B,Q,H*Dh]; `spatialShapes` [[h,w], ...] per level, `levelStarts` their first token in S.
 */
export function msDeformAttnComposed(
  value: tf.Tensor, spatialShapes: ReadonlyArray<readonly [number, number]>, levelStarts: readonly number[], locations: tf.Tensor, weights: tf.Tensor,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, S, H, D] = value.shape as [number, number, number, number];
    const [, Q, , L, P] = weights.shape as [number, number, number, number, number];
    const levelConst = (f: (l: number) => number) => tf.tensor(spatialShapes.map((_, l) => f(l)), [1, 1, 1, L, 1]);
    const wl = levelConst((l) => spatialShapes[l]![1]);
    const hl = levelConst((l) => spatialShapes[l]![0]);
    // Pixel coordinates (grid_sample, align_corners=False): x = locX * w - 0.5.
    const pixel = (loc: tf.Tensor) => {
      const [lx, ly] = tf.split(loc, 2, -1).map((t) => tf.squeeze(t, [5]));
      return { x: tf.sub(tf.mul(lx!, wl), 0.5), y: tf.sub(tf.mul(ly!, hl), 0.5) };
    };
    const { x, y } = pixel(locations);
    // Off the tape: integer corners, masks and indices.
    const fixed = pixel(stopGradient(locations));
    const x0 = tf.floor(fixed.x);
    const y0 = tf.floor(fixed.y);
    const inside = tf.logicalAnd(tf.logicalAnd(tf.greater(fixed.x, -1), tf.greater(fixed.y, -1)), tf.logicalAnd(tf.less(fixed.x, wl), tf.less(fixed.y, hl)));
    // Row of (b, h, token) in value transposed to [B,H,S,Dh].
    const bh = tf.reshape(tf.range(0, B * H), [B, 1, H, 1, 1]);
    const rowBase = tf.add(tf.mul(bh, S), levelConst((l) => levelStarts[l]!));
    const fx = tf.sub(x, x0);
    const fy = tf.sub(y, y0);
    const idx: tf.Tensor[] = [];
    const w: tf.Tensor[] = [];
    for (const [cy, cx] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
      const xi = tf.add(x0, cx);
      const yi = tf.add(y0, cy);
      const valid = tf.logicalAnd(inside, tf.logicalAnd(tf.logicalAnd(tf.greaterEqual(xi, 0), tf.less(xi, wl)), tf.logicalAnd(tf.greaterEqual(yi, 0), tf.less(yi, hl))));
      const token = tf.add(tf.mul(tf.clipByValue(yi, 0, Infinity), wl), tf.clipByValue(xi, 0, Infinity));
      // Invalid corners point at row 0 with weight 0. A product with the mask, not tf.where:
      // webgpu's Select has no rank-5 shader ("Where for rank 5 is not yet supported").
      const mask = tf.cast(valid, 'float32');
      idx.push(tf.cast(tf.mul(tf.add(rowBase, token), mask), 'int32'));
      const wx = cx === 1 ? fx : tf.sub(1, fx);
      const wy = cy === 1 ? fy : tf.sub(1, fy);
      w.push(tf.mul(tf.mul(wx, wy), mask));
    }
    const n = B * Q * H;
    const k = L * 4 * P;
    // [B,Q,H,L,P] x 4 corners -> [n, k] indices and weights (weights times attention weights).
    const flatIdx = tf.reshape(tf.stack(idx, 4), [n * k]);
    const flatW = tf.reshape(tf.mul(tf.stack(w, 4), tf.expandDims(weights, 4)), [n, 1, k]);
    const rows = tf.reshape(tf.transpose(value, [0, 2, 1, 3]), [B * H * S, D]);
    const sampled = tf.reshape(tf.gather(rows, flatIdx), [n, k, D]);
    return tf.reshape(tf.matMul(flatW as tf.Tensor3D, sampled as tf.Tensor3D), [B, Q, H * D]) as tf.Tensor3D;
  });
}
