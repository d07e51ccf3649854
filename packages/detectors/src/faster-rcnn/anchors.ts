import { DetkitError } from '@detkit/core';

/**
 * torchvision's `AnchorGenerator`, on the host (anchors depend only on the feature-map
 * sizes, never on values). Per level: base anchors centred on 0, for every (size, aspect
 * ratio) with ratio = h / w,
 *   h = size * sqrt(ratio), w = size / sqrt(ratio), base = round([-w, -h, w, h] / 2),
 * shifted to every cell (x * stride, y * stride). Order: row-major cells, then ratios, then
 * sizes within a ratio (torchvision's `(ws[:, None] * scales[None, :]).view(-1)`), matching an
 * RPN head whose `[B,h,w,A]` output is flattened to `[B, h*w*A]`.
 */
export interface AnchorLevelSpec {
  /** Anchor sizes (sqrt of area, input pixels) on this level. */
  sizes: readonly number[];
  aspectRatios: readonly number[];
  stride: number;
}

/** The zero-centred base anchors `[A*4]` xyxy of one level, in the order above. */
export function baseAnchors(sizes: readonly number[], aspectRatios: readonly number[]): Float64Array {
  if (sizes.length === 0 || aspectRatios.length === 0 || [...sizes, ...aspectRatios].some((v) => !(v > 0))) {
    throw new DetkitError('INVALID_ARGUMENT', `anchors: sizes [${sizes}] and aspect ratios [${aspectRatios}] must be non-empty and positive`);
  }
  const out = new Float64Array(4 * sizes.length * aspectRatios.length);
  let k = 0;
  for (const r of aspectRatios) {
    const hRatio = Math.sqrt(r);
    for (const s of sizes) {
      const w = (s / hRatio) / 2;
      const h = (s * hRatio) / 2;
      // torch.round: half to even (banker's) rounding.
      out.set([roundHalfEven(-w), roundHalfEven(-h), roundHalfEven(w), roundHalfEven(h)], 4 * k++);
    }
  }
  return out;
}

/** Anchors `[gridH*gridW*A*4]` xyxy (input pixels) of one level. */
export function levelAnchors(gridH: number, gridW: number, spec: AnchorLevelSpec): Float64Array {
  const base = baseAnchors(spec.sizes, spec.aspectRatios);
  const a = base.length / 4;
  const out = new Float64Array(gridH * gridW * a * 4);
  let o = 0;
  for (let y = 0; y < gridH; y++) {
    for (let x = 0; x < gridW; x++) {
      const sx = x * spec.stride;
      const sy = y * spec.stride;
      for (let k = 0; k < a; k++) {
        out[o++] = base[4 * k]! + sx;
        out[o++] = base[4 * k + 1]! + sy;
        out[o++] = base[4 * k + 2]! + sx;
        out[o++] = base[4 * k + 3]! + sy;
      }
    }
  }
  return out;
}

export function anchorsPerCell(spec: Pick<AnchorLevelSpec, 'sizes' | 'aspectRatios'>): number {
  return spec.sizes.length * spec.aspectRatios.length;
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
