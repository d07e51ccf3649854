import { DetkitError } from '../core.js';
import type { Rng, Sample } from '../core.js';
import type { Transform } from './transform.js';

/** Mirrors the image left-right with probability `prob`; boxes follow (x -> W - x). */
export class RandomFlip implements Transform {
  readonly type = 'random-flip';
  constructor(readonly prob = 0.5) {
    if (!(prob >= 0 && prob <= 1)) throw new DetkitError('CONFIG_INVALID', `random-flip: 'prob' must be in [0, 1], got ${prob}`, { key: 'prob' });
  }

  apply(sample: Sample, rng: Rng): Sample {
    if (rng.next() >= this.prob) return sample;
    return flipHorizontal(sample);
  }
}

export function flipHorizontal(sample: Sample): Sample {
  const { height: h, width: w, channels: c } = sample;
  const image = new Float32Array(sample.image.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const src = (y * w + x) * c;
      const dst = (y * w + (w - 1 - x)) * c;
      for (let k = 0; k < c; k++) image[dst + k] = sample.image[src + k]!;
    }
  }
  const boxes = new Float32Array(sample.boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] = w - sample.boxes[i + 2]!;
    boxes[i + 1] = sample.boxes[i + 1]!;
    boxes[i + 2] = w - sample.boxes[i]!;
    boxes[i + 3] = sample.boxes[i + 3]!;
  }
  return { ...sample, image, boxes };
}
