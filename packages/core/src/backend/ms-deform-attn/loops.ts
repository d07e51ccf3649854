/**
 * Multi-scale deformable attention (Deformable DETR's MSDeformAttn core) as plain loops over
 * typed arrays: the bodies of the wasm and cpu kernels. Same arithmetic as the reference CUDA
 * kernel (ms_deform_attn_im2col_bilinear): grid_sample with align_corners=False and zero
 * padding; a sample whose pixel position is not inside (-1, H) x (-1, W) contributes nothing.
 *
 * Layouts (row-major): value [B,S,H,Dh]; locations [B,Q,H,L,P,2] as (x, y) in [0,1];
 * weights [B,Q,H,L,P]; out / dOut [B,Q,H*Dh]. Level l covers rows levelStarts[l] ..
 * levelStarts[l] + h_l*w_l of the S axis (row-major y, x).
 */

export interface MsDeformGeometry {
  batch: number;
  /** S: tokens over all levels. */
  tokens: number;
  heads: number;
  headDim: number;
  queries: number;
  levels: number;
  points: number;
  /** [h_0, w_0, h_1, w_1, ...]. */
  spatialShapes: readonly number[];
  levelStarts: readonly number[];
}

type F32 = Float32Array;

/**
 * The (up to) four bilinear corners of one sample: value-row offsets (-1 = outside the level:
 * zero padding) with their weight and the weight's derivatives in the pixel coordinates x, y.
 */
interface Corners {
  offset: Int32Array;
  w: Float64Array;
  dwdx: Float64Array;
  dwdy: Float64Array;
}

function newCorners(): Corners {
  return { offset: new Int32Array(4), w: new Float64Array(4), dwdx: new Float64Array(4), dwdy: new Float64Array(4) };
}

/**
 * Fills `c` for the sample at normalised (lx, ly) on level (hl, wl) whose first value row is
 * `rowBase` (offset of row levelStart in the [B,S,H,Dh] buffer for this b, h); `rowStride` is
 * H*Dh. Returns false when the whole sample is outside the map.
 */
function corners(locX: number, locY: number, hl: number, wl: number, rowBase: number, rowStride: number, c: Corners): boolean {
  const x = locX * wl - 0.5;
  const y = locY * hl - 0.5;
  if (!(y > -1 && x > -1 && y < hl && x < wl)) return false;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const gx = 1 - fx;
  const gy = 1 - fy;
  const inY0 = y0 >= 0;
  const inY1 = y0 + 1 <= hl - 1;
  const inX0 = x0 >= 0;
  const inX1 = x0 + 1 <= wl - 1;
  // Corner k: (y0,x0), (y0,x1), (y1,x0), (y1,x1).
  const o00 = rowBase + (y0 * wl + x0) * rowStride;
  c.offset[0] = inY0 && inX0 ? o00 : -1;
  c.offset[1] = inY0 && inX1 ? o00 + rowStride : -1;
  c.offset[2] = inY1 && inX0 ? o00 + wl * rowStride : -1;
  c.offset[3] = inY1 && inX1 ? o00 + (wl + 1) * rowStride : -1;
  c.w[0] = gy * gx; c.dwdx[0] = -gy; c.dwdy[0] = -gx;
  c.w[1] = gy * fx; c.dwdx[1] = gy; c.dwdy[1] = -fx;
  c.w[2] = fy * gx; c.dwdx[2] = -fy; c.dwdy[2] = gx;
  c.w[3] = fy * fx; c.dwdx[3] = fy; c.dwdy[3] = fx;
  return true;
}

/** out[b,q,h*Dh + c] = sum_{l,p} weight * bilinear(value level l, head h, location). */
export function msDeformAttnForward(g: MsDeformGeometry, value: F32, locations: F32, weights: F32, out: F32): void {
  const { batch: B, tokens: S, heads: H, headDim: D, queries: Q, levels: L, points: P } = g;
  const rowStride = H * D;
  const acc = new Float64Array(D);
  const c = newCorners();
  for (let b = 0; b < B; b++) {
    for (let q = 0; q < Q; q++) {
      for (let h = 0; h < H; h++) {
        acc.fill(0);
        const bqh = (b * Q + q) * H + h;
        for (let l = 0; l < L; l++) {
          const hl = g.spatialShapes[2 * l]!;
          const wl = g.spatialShapes[2 * l + 1]!;
          const rowBase = (b * S + g.levelStarts[l]!) * rowStride + h * D;
          for (let p = 0; p < P; p++) {
            const i = (bqh * L + l) * P + p;
            if (!corners(locations[2 * i]!, locations[2 * i + 1]!, hl, wl, rowBase, rowStride, c)) continue;
            const a = weights[i]!;
            for (let k = 0; k < 4; k++) {
              const o = c.offset[k]!;
              if (o < 0) continue;
              const w = a * c.w[k]!;
              for (let d = 0; d < D; d++) acc[d]! += w * value[o + d]!;
            }
          }
        }
        out.set(acc, bqh * D);
      }
    }
  }
}

/**
 * Gradients of sum(dOut * out) with respect to value, locations and weights (outputs are
 * overwritten). dValue scatters with +=, so samples sharing a pixel accumulate.
 */
export function msDeformAttnBackward(
  g: MsDeformGeometry, value: F32, locations: F32, weights: F32, dOut: F32,
  dValue: F32, dLocations: F32, dWeights: F32,
): void {
  const { batch: B, tokens: S, heads: H, headDim: D, queries: Q, levels: L, points: P } = g;
  const rowStride = H * D;
  const c = newCorners();
  dValue.fill(0);
  dLocations.fill(0);
  dWeights.fill(0);
  for (let b = 0; b < B; b++) {
    for (let q = 0; q < Q; q++) {
      for (let h = 0; h < H; h++) {
        const bqh = (b * Q + q) * H + h;
        const gOff = bqh * D;
        for (let l = 0; l < L; l++) {
          const hl = g.spatialShapes[2 * l]!;
          const wl = g.spatialShapes[2 * l + 1]!;
          const rowBase = (b * S + g.levelStarts[l]!) * rowStride + h * D;
          for (let p = 0; p < P; p++) {
            const i = (bqh * L + l) * P + p;
            if (!corners(locations[2 * i]!, locations[2 * i + 1]!, hl, wl, rowBase, rowStride, c)) continue;
            const a = weights[i]!;
            let dA = 0;
            let dx = 0;
            let dy = 0;
            for (let k = 0; k < 4; k++) {
              const o = c.offset[k]!;
              if (o < 0) continue;
              const aw = a * c.w[k]!;
              // dot = <dOut, value at this corner>: feeds the weight and location gradients.
              let dot = 0;
              for (let d = 0; d < D; d++) {
                const gd = dOut[gOff + d]!;
                dot += gd * value[o + d]!;
                dValue[o + d]! += aw * gd;
              }
              dA += c.w[k]! * dot;
              dx += c.dwdx[k]! * dot;
              dy += c.dwdy[k]! * dot;
            }
            dWeights[i] = dA;
            // x = locX * w_l - 0.5: chain rule multiplies by the level's width (height for y).
            dLocations[2 * i] = a * dx * wl;
            dLocations[2 * i + 1] = a * dy * hl;
          }
        }
      }
    }
  }
}
