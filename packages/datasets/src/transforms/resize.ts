import { DetkitError } from '../core.js';
import type { Sample } from '../core.js';
import { resizeBilinear } from '../image/resample.js';
import { withBoxes, type Transform } from './transform.js';

export interface ResizeOptions {
  /** Target length of the shorter side (aspect kept). */
  shorterSide?: number;
  /** Cap on the longer side (aspect kept); alone, it scales the longer side to this. */
  maxSize?: number;
}

/** Aspect-preserving bilinear resize; boxes scale with the exact per-axis factors. */
export class Resize implements Transform {
  readonly type = 'resize';
  constructor(readonly options: ResizeOptions) {
    const { shorterSide, maxSize } = options;
    if (shorterSide === undefined && maxSize === undefined) throw new DetkitError('CONFIG_INVALID', `resize: give 'shorterSide' and/or 'maxSize'`);
    for (const [k, v] of Object.entries({ shorterSide, maxSize })) {
      if (v !== undefined && !(Number.isFinite(v) && v >= 1)) throw new DetkitError('CONFIG_INVALID', `resize: '${k}' must be a number >= 1, got ${v}`, { key: k });
    }
  }

  /** The output (height, width) for an input size. */
  targetSize(h: number, w: number): [number, number] {
    const { shorterSide, maxSize } = this.options;
    let scale = shorterSide !== undefined ? shorterSide / Math.min(h, w) : maxSize! / Math.max(h, w);
    if (maxSize !== undefined && Math.max(h, w) * scale > maxSize) scale = maxSize / Math.max(h, w);
    return [Math.max(1, Math.round(h * scale)), Math.max(1, Math.round(w * scale))];
  }

  apply(sample: Sample): Sample {
    const { height: h, width: w, channels: c } = sample;
    const [nh, nw] = this.targetSize(h, w);
    if (nh === h && nw === w) return sample;
    const sx = nw / w;
    const sy = nh / h;
    const n = sample.labels.length;
    const boxes = new Float32Array(n * 4);
    for (let i = 0; i < n; i++) {
      boxes[4 * i] = sample.boxes[4 * i]! * sx;
      boxes[4 * i + 1] = sample.boxes[4 * i + 1]! * sy;
      boxes[4 * i + 2] = sample.boxes[4 * i + 2]! * sx;
      boxes[4 * i + 3] = sample.boxes[4 * i + 3]! * sy;
    }
    const all = Array.from({ length: n }, (_, i) => i);
    const out = withBoxes(sample, all, boxes, new Float32Array(n).fill(sx * sy));
    return { ...out, image: resizeBilinear(sample.image, h, w, c, nh, nw), height: nh, width: nw };
  }
}
