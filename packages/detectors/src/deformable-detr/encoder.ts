import * as tf from '@tensorflow/tfjs-core';
import { Dropout, LayerNorm, Linear, Module, getActivation } from '@detkit/core';
import { type LayerOptions, subSeed } from '../transformer/encoder.js';
import { MSDeformAttn, type SpatialShapes } from './ms-deform-attn.js';

export interface DeformableLayerOptions extends LayerOptions {
  numLevels: number;
  numPoints: number;
}

/**
 * Deformable DETR's encoder layer, post-norm: deformable self-attention (each token is a query
 * at its own position on every level) + residual + `norm1`, FFN + residual + `norm2`.
 */
export class DeformableEncoderLayer extends Module {
  readonly selfAttn: MSDeformAttn;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  private readonly drop: Dropout[];
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(opts: DeformableLayerOptions) {
    super();
    const { dModel: d, seed } = opts;
    this.selfAttn = this.module('self_attn', new MSDeformAttn({ dModel: d, numHeads: opts.numHeads, numLevels: opts.numLevels, numPoints: opts.numPoints, seed: subSeed(seed, 1) }));
    this.linear1 = this.module('linear1', new Linear(d, opts.dimFeedforward, { seed: subSeed(seed, 2) }));
    this.linear2 = this.module('linear2', new Linear(opts.dimFeedforward, d, { seed: subSeed(seed, 3) }));
    this.norm1 = this.module('norm1', new LayerNorm(d));
    this.norm2 = this.module('norm2', new LayerNorm(d));
    this.drop = this.moduleList('dropouts', [0, 1, 2].map((i) => new Dropout(opts.dropout ?? 0, subSeed(seed, 10 + i))));
    this.act = getActivation(opts.activation ?? 'relu');
  }

  forward(src: tf.Tensor3D, pos: tf.Tensor3D, reference: tf.Tensor4D, shapes: SpatialShapes, keepMask: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const attn = this.selfAttn.forward(tf.add(src, pos) as tf.Tensor3D, reference, src, shapes, keepMask);
      const x = this.norm1.forward(tf.add(src, this.drop[0]!.forward(attn)));
      const ff = this.linear2.forward(this.drop[1]!.forward(this.act(this.linear1.forward(x))));
      return this.norm2.forward(tf.add(x, this.drop[2]!.forward(ff))) as tf.Tensor3D;
    });
  }
}

/**
 * The encoder's reference points `[B,S,L,2]`: each token's pixel centre, normalised by the
 * image's valid extent on its own level, then scaled to every level by that level's valid
 * ratio (the reference's get_reference_points). `validRatios` `[B,L,2]` as (w, h).
 */
export function encoderReferencePoints(shapes: SpatialShapes, validRatios: tf.Tensor3D): tf.Tensor4D {
  return tf.tidy(() => {
    const B = validRatios.shape[0];
    const L = shapes.length;
    const perLevel = shapes.map(([h, w], l) => {
      const xs = new Float32Array(h * w * 2);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) xs.set([(x + 0.5) / w, (y + 0.5) / h], (y * w + x) * 2);
      const grid = tf.tensor(xs, [1, h * w, 2]);
      const own = tf.slice(validRatios, [0, l, 0], [B, 1, 2]); // [B,1,2]
      return tf.div(grid, own); // [B,hw,2]
    });
    const points = tf.concat(perLevel, 1); // [B,S,2]
    return tf.mul(tf.expandDims(points, 2), tf.reshape(validRatios, [B, 1, L, 2])) as tf.Tensor4D;
  });
}

/** The encoder: layers sharing the reference points; no final norm (post-norm layers). */
export class DeformableEncoder extends Module {
  readonly layers: DeformableEncoderLayer[];

  constructor(opts: DeformableLayerOptions & { numLayers: number }) {
    super();
    this.layers = this.moduleList(
      'layers',
      Array.from({ length: opts.numLayers }, (_, i) => new DeformableEncoderLayer({ ...opts, seed: subSeed(opts.seed, 100 + i) })),
    );
  }

  forward(src: tf.Tensor3D, pos: tf.Tensor3D, shapes: SpatialShapes, validRatios: tf.Tensor3D, keepMask: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const reference = encoderReferencePoints(shapes, validRatios);
      let x = src;
      for (const layer of this.layers) x = layer.forward(x, pos, reference, shapes, keepMask);
      return x;
    });
  }
}
