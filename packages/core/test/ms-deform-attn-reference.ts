/**
 * A float64 reference for multi-scale deformable attention, written from the definition and
 * sharing no code with the kernel: grid_sample (align_corners=False, zero padding) as a sum
 * over EVERY pixel of the level with the tent weight max(0, 1-|px-x|) * max(0, 1-|py-y|), so
 * out-of-map samples, partly outside samples and level boundaries need no special case.
 * Gradients are float64 central differences of the same function. Also the test cases shared by
 * ms-deform-attn.test.ts (wasm, cpu) and webgpu-ms-deform-attn.test.ts. Not a test file.
 */
import { randomValues } from './random-values.js';

export interface MsCase {
  B: number;
  Q: number;
  H: number;
  D: number;
  P: number;
  shapes: Array<[number, number]>;
  value: Float64Array;
  locations: Float64Array;
  weights: Float64Array;
  /** Cotangent of the output: the scalar loss is sum(out * dOut). */
  dOut: Float64Array;
}

export const tokensOf = (c: Pick<MsCase, 'shapes'>): number => c.shapes.reduce((s, [h, w]) => s + h * w, 0);

/** out [B,Q,H*D] in float64. */
export function referenceForward(c: MsCase, value = c.value, locations = c.locations, weights = c.weights): Float64Array {
  const { B, Q, H, D, P, shapes } = c;
  const L = shapes.length;
  const S = tokensOf(c);
  const out = new Float64Array(B * Q * H * D);
  for (let b = 0; b < B; b++)
    for (let q = 0; q < Q; q++)
      for (let h = 0; h < H; h++) {
        let start = 0;
        for (let l = 0; l < L; l++) {
          const [hl, wl] = shapes[l]!;
          for (let p = 0; p < P; p++) {
            const i = (((b * Q + q) * H + h) * L + l) * P + p;
            const px = locations[2 * i]! * wl - 0.5;
            const py = locations[2 * i + 1]! * hl - 0.5;
            for (let y = 0; y < hl; y++)
              for (let x = 0; x < wl; x++) {
                const tent = Math.max(0, 1 - Math.abs(px - x)) * Math.max(0, 1 - Math.abs(py - y));
                if (tent === 0) continue;
                const row = ((b * S + start + y * wl + x) * H + h) * D;
                for (let d = 0; d < D; d++) out[((b * Q + q) * H + h) * D + d]! += weights[i]! * tent * value[row + d]!;
              }
          }
          start += hl * wl;
        }
      }
  return out;
}

function loss(c: MsCase, value: Float64Array, locations: Float64Array, weights: Float64Array): number {
  const out = referenceForward(c, value, locations, weights);
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i]! * c.dOut[i]!;
  return s;
}

/** d loss / d input by float64 central differences, for every entry of value, locations and weights. */
export function referenceGradients(c: MsCase, eps = 1e-6): { value: Float64Array; locations: Float64Array; weights: Float64Array } {
  const grad = (which: 'value' | 'locations' | 'weights'): Float64Array => {
    const base = c[which];
    const g = new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const at = (delta: number) => {
        const x = Float64Array.from(base);
        x[i]! += delta;
        return loss(c, which === 'value' ? x : c.value, which === 'locations' ? x : c.locations, which === 'weights' ? x : c.weights);
      };
      g[i] = (at(eps) - at(-eps)) / (2 * eps);
    }
    return g;
  };
  return { value: grad('value'), locations: grad('locations'), weights: grad('weights') };
}


/**
 * Locations that exercise every branch: inside, the partly-outside band (pixel coordinate in
 * (-1, 0) or (w-1, w): some corners are padding, or would be the neighbouring level's rows
 * if indexing were wrong), and fully outside (pixel <= -1 or >= w: no contribution).
 */
export function makeCase(seed: number, shapes: Array<[number, number]>, dims = { B: 2, Q: 4, H: 2, D: 3, P: 3 }): MsCase {
  const { B, Q, H, D, P } = dims;
  const L = shapes.length;
  const S = tokensOf({ shapes });
  const u = randomValues(B * Q * H * L * P * 4 + 10, seed).map((v) => (v + 1) / 2); // [0,1)
  const locations = new Float64Array(B * Q * H * L * P * 2);
  let k = 0;
  for (let i = 0; i < locations.length / 2; i++) {
    const l = Math.floor(i / P) % L;
    const [hl, wl] = shapes[l]!;
    const coord = (size: number, kind: number): number => {
      const r = u[k++]!;
      const pixel = kind === 0 ? -0.5 + r * size // inside [-0.5, size-0.5)
        : kind === 1 ? -1 + 0.98 * r + 0.01 // low band (-1, 0)
        : kind === 2 ? size - 1 + 0.98 * r + 0.01 // high band (size-1, size): the level boundary
        : r < 0.5 ? -1.5 - r : size + r; // fully outside
      return (pixel + 0.5) / size;
    };
    const kind = i % 5 === 4 ? 3 : i % 5 === 3 ? 2 : i % 5 === 2 ? 1 : 0;
    locations[2 * i] = coord(wl, kind);
    locations[2 * i + 1] = coord(hl, i % 7 === 6 ? 2 : kind === 3 ? 0 : kind);
  }
  return {
    B, Q, H, D, P, shapes,
    value: Float64Array.from(randomValues(B * S * H * D, seed + 1)),
    locations,
    weights: Float64Array.from(randomValues(B * Q * H * L * P, seed + 2), (v) => (v + 1) / 2),
    dOut: Float64Array.from(randomValues(B * Q * H * D, seed + 3)),
  };
}
