/**
 * Bilinear resampling of an HWC float image with half-pixel centres (the convention of
 * tf.image.resizeBilinear with halfPixelCenters and of PIL/sharp), so a box scaled by
 * (nw/w, nh/h) still frames the same content.
 */
export function resizeBilinear(
  src: Float32Array,
  h: number,
  w: number,
  c: number,
  nh: number,
  nw: number,
): Float32Array {
  const out = new Float32Array(nh * nw * c);
  const sy = h / nh;
  const sx = w / nw;
  // Precompute the column taps once: the inner loop is then pure arithmetic.
  const x0s = new Int32Array(nw);
  const x1s = new Int32Array(nw);
  const fxs = new Float32Array(nw);
  for (let x = 0; x < nw; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
    const x0 = Math.floor(fx);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, w - 1);
    fxs[x] = fx - x0;
  }
  for (let y = 0; y < nh; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const wy = fy - y0;
    const r0 = y0 * w * c;
    const r1 = y1 * w * c;
    for (let x = 0; x < nw; x++) {
      const a = x0s[x]! * c;
      const b = x1s[x]! * c;
      const wx = fxs[x]!;
      const o = (y * nw + x) * c;
      for (let k = 0; k < c; k++) {
        const top = src[r0 + a + k]! * (1 - wx) + src[r0 + b + k]! * wx;
        const bot = src[r1 + a + k]! * (1 - wx) + src[r1 + b + k]! * wx;
        out[o + k] = top * (1 - wy) + bot * wy;
      }
    }
  }
  return out;
}
