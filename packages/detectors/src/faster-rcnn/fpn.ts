import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, Module } from '@detkit/core';
import { subSeed } from '../transformer/encoder.js';

export interface FpnOptions {
  /** Channels of the backbone levels, finest first. */
  inChannels: readonly number[];
  outChannels: number;
  /** Add a level at twice the coarsest stride by 1x1/2 max-pooling (torchvision's LastLevelMaxPool; RPN only). */
  extraMaxPool?: boolean;
  seed?: number;
}

/**
 * Feature Pyramid Network (Lin et al. 2017; torchvision `FeaturePyramidNetwork` names:
 * `inner_blocks.i` 1x1 laterals, `layer_blocks.i` 3x3 outputs). Top-down: each level adds
 * its lateral to the 2x nearest upsampling of the coarser merged level. NHWC.
 */
export class Fpn extends Module {
  private readonly inner: Conv2d[];
  private readonly layer: Conv2d[];
  readonly extraMaxPool: boolean;

  constructor(o: FpnOptions) {
    super();
    this.inner = this.moduleList('inner_blocks', o.inChannels.map((c, i) => new Conv2d(c, o.outChannels, 1, { seed: subSeed(o.seed, 2 * i) })));
    this.layer = this.moduleList('layer_blocks', o.inChannels.map((_, i) => new Conv2d(o.outChannels, o.outChannels, 3, { padding: 1, seed: subSeed(o.seed, 2 * i + 1) })));
    this.extraMaxPool = o.extraMaxPool ?? false;
  }

  /** Backbone levels (finest first) -> merged levels, plus the pooled extra level when configured. */
  forward(levels: readonly tf.Tensor4D[]): tf.Tensor4D[] {
    return tf.tidy(() => {
      const n = levels.length;
      const merged: tf.Tensor4D[] = new Array(n);
      let top = this.inner[n - 1]!.forward(levels[n - 1]!);
      merged[n - 1] = top;
      for (let i = n - 2; i >= 0; i--) {
        const lateral = this.inner[i]!.forward(levels[i]!);
        top = tf.add(lateral, upsample2xTo(top, lateral.shape[1], lateral.shape[2])) as tf.Tensor4D;
        merged[i] = top;
      }
      const out = merged.map((m, i) => this.layer[i]!.forward(m));
      if (this.extraMaxPool) out.push(tf.maxPool(out[n - 1]!, 1, 2, 'valid'));
      return out;
    });
  }
}

/**
 * Nearest-neighbour 2x upsampling cropped to `h x w` (a stride-2 conv rounds sizes up).
 * Built from rank-3 tiles, whose gradient tfjs has on every backend (ResizeNearestNeighborGrad
 * is missing on wasm).
 */
export function upsample2xTo(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, hh, ww, c] = x.shape;
    const rows = tf.reshape(tf.tile(tf.reshape(x, [b * hh, 1, ww * c]), [1, 2, 1]), [b * hh * 2 * ww, 1, c]);
    const both = tf.reshape(tf.tile(rows, [1, 2, 1]), [b, 2 * hh, 2 * ww, c]);
    return (2 * hh === h && 2 * ww === w ? both : tf.slice(both, [0, 0, 0, 0], [b, h, w, c])) as tf.Tensor4D;
  });
}
