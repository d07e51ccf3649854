import { DetkitError } from '../core.js';
import type { Sample } from '../core.js';
import type { Transform } from './transform.js';

/** (x - mean[c]) / std[c] per channel. Usually last: after it pixels are no longer in [0, 1]. */
export class Normalize implements Transform {
  readonly type = 'normalize';
  constructor(
    readonly mean: readonly number[] = [0.485, 0.456, 0.406],
    readonly std: readonly number[] = [0.229, 0.224, 0.225],
  ) {
    if (mean.length !== std.length || mean.length === 0) throw new DetkitError('CONFIG_INVALID', `normalize: 'mean' and 'std' need the same non-zero length, got ${mean.length} and ${std.length}`);
    if (std.some((s) => !(s > 0))) throw new DetkitError('CONFIG_INVALID', `normalize: every 'std' must be > 0, got [${std.join(', ')}]`, { key: 'std' });
  }

  apply(sample: Sample): Sample {
    const c = sample.channels;
    if (c !== this.mean.length) {
      throw new DetkitError('INVALID_ARGUMENT', `normalize: image ${sample.imageId} has ${c} channels but mean/std have ${this.mean.length}`);
    }
    const img = new Float32Array(sample.image.length);
    for (let i = 0; i < img.length; i++) img[i] = (sample.image[i]! - this.mean[i % c]!) / this.std[i % c]!;
    return { ...sample, image: img };
  }
}
