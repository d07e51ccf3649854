import { DetkitError } from '../core.js';
import type { Rng, Sample } from '../core.js';
import { uniform } from '../util/rng.js';
import { withBoxes, type Transform } from './transform.js';

export interface RandomCropOptions {
  /** Crop side as a fraction of the image side, drawn per axis. Default [0.6, 1]. */
  scale?: [number, number];
  /** Probability of cropping at all. Default 1. */
  prob?: number;
  /** Boxes narrower or shorter than this (pixels) after clipping are dropped. Default 2. */
  minBoxSize?: number;
  /** Boxes keeping less than this fraction of their area are dropped. Default 0.25. */
  minVisibility?: number;
}

/** Crops a random window; boxes are clipped to it, and boxes that become too small are dropped. */
export class RandomCrop implements Transform {
  readonly type = 'random-crop';
  readonly scale: [number, number];
  readonly prob: number;
  readonly minBoxSize: number;
  readonly minVisibility: number;

  constructor(options: RandomCropOptions = {}) {
    this.scale = options.scale ?? [0.6, 1];
    this.prob = options.prob ?? 1;
    this.minBoxSize = options.minBoxSize ?? 2;
    this.minVisibility = options.minVisibility ?? 0.25;
    const [lo, hi] = this.scale;
    if (!(lo > 0 && hi >= lo && hi <= 1)) throw new DetkitError('CONFIG_INVALID', `random-crop: 'scale' must satisfy 0 < min <= max <= 1, got [${lo}, ${hi}]`, { key: 'scale' });
    if (!(this.prob >= 0 && this.prob <= 1)) throw new DetkitError('CONFIG_INVALID', `random-crop: 'prob' must be in [0, 1], got ${this.prob}`, { key: 'prob' });
  }

  apply(sample: Sample, rng: Rng): Sample {
    const { height: h, width: w } = sample;
    const doCrop = rng.next() < this.prob;
    const cw = Math.max(1, Math.round(w * uniform(rng, this.scale[0], this.scale[1])));
    const ch = Math.max(1, Math.round(h * uniform(rng, this.scale[0], this.scale[1])));
    const x0 = rng.int(w - cw + 1);
    const y0 = rng.int(h - ch + 1);
    if (!doCrop) return sample;
    return cropSample(sample, x0, y0, cw, ch, this.minBoxSize, this.minVisibility);
  }
}

/** Cuts the window [x0, x0+cw) x [y0, y0+ch) out of a sample, clipping and filtering boxes. */
export function cropSample(sample: Sample, x0: number, y0: number, cw: number, ch: number, minBoxSize = 0, minVisibility = 0): Sample {
  const { width: w, channels: c } = sample;
  const image = new Float32Array(cw * ch * c);
  for (let y = 0; y < ch; y++) {
    const src = ((y0 + y) * w + x0) * c;
    image.set(sample.image.subarray(src, src + cw * c), y * cw * c);
  }
  const keep: number[] = [];
  const kept: number[] = [];
  const areaScale: number[] = [];
  for (let i = 0; i < sample.labels.length; i++) {
    const [bx0, by0, bx1, by1] = [0, 1, 2, 3].map((k) => sample.boxes[4 * i + k]!) as [number, number, number, number];
    const nx0 = Math.max(bx0 - x0, 0);
    const ny0 = Math.max(by0 - y0, 0);
    const nx1 = Math.min(bx1 - x0, cw);
    const ny1 = Math.min(by1 - y0, ch);
    const nwid = nx1 - nx0;
    const nhei = ny1 - ny0;
    const before = (bx1 - bx0) * (by1 - by0);
    if (nwid <= 0 || nhei <= 0 || nwid < minBoxSize || nhei < minBoxSize) continue;
    const frac = before > 0 ? (nwid * nhei) / before : 0;
    if (frac < minVisibility) continue;
    keep.push(i);
    kept.push(nx0, ny0, nx1, ny1);
    areaScale.push(frac);
  }
  const out = withBoxes(sample, keep, Float32Array.from(kept), areaScale);
  return { ...out, image, height: ch, width: cw };
}
