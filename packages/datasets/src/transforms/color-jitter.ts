import { DetkitError } from '../core.js';
import type { Rng, Sample } from '../core.js';
import { uniform } from '../util/rng.js';
import type { Transform } from './transform.js';

export interface ColorJitterOptions {
  /** Max relative change of each; 0 disables it. */
  brightness?: number;
  contrast?: number;
  saturation?: number;
}

/** Random brightness, contrast and saturation (3-channel images), clamped to [0, 1]. Boxes untouched. */
export class ColorJitter implements Transform {
  readonly type = 'color-jitter';
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;

  constructor(options: ColorJitterOptions = {}) {
    this.brightness = options.brightness ?? 0.2;
    this.contrast = options.contrast ?? 0.2;
    this.saturation = options.saturation ?? 0.2;
    for (const k of ['brightness', 'contrast', 'saturation'] as const) {
      if (!(this[k] >= 0 && this[k] <= 1)) throw new DetkitError('CONFIG_INVALID', `color-jitter: '${k}' must be in [0, 1], got ${this[k]}`, { key: k });
    }
  }

  apply(sample: Sample, rng: Rng): Sample {
    // Draw all factors up front so the stream consumed does not depend on the image.
    const b = 1 + uniform(rng, -this.brightness, this.brightness);
    const ct = 1 + uniform(rng, -this.contrast, this.contrast);
    const sat = 1 + uniform(rng, -this.saturation, this.saturation);
    const src = sample.image;
    const c = sample.channels;
    const n = sample.height * sample.width;
    const img = new Float32Array(src.length);
    let mean = 0;
    for (let i = 0; i < src.length; i++) {
      img[i] = src[i]! * b;
      mean += img[i]!;
    }
    mean /= src.length || 1;
    for (let i = 0; i < img.length; i++) img[i] = (img[i]! - mean) * ct + mean;
    if (c === 3) {
      for (let p = 0; p < n; p++) {
        const o = 3 * p;
        const grey = 0.299 * img[o]! + 0.587 * img[o + 1]! + 0.114 * img[o + 2]!;
        for (let k = 0; k < 3; k++) img[o + k] = grey + (img[o + k]! - grey) * sat;
      }
    }
    for (let i = 0; i < img.length; i++) img[i] = Math.min(1, Math.max(0, img[i]!));
    return { ...sample, image: img };
  }
}
