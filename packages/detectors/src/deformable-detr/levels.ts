import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, GroupNorm, Module, xavierUniform } from '@detkit/core';
import { downsampleMask } from '../backbone/mask.js';
import type { FeatureMap } from '../backbone/types.js';
import { subSeed } from '../transformer/encoder.js';
import { sinePositionEmbedding } from '../transformer/position-encoding.js';
import type { SpatialShapes } from './ms-deform-attn.js';

/** A conv followed by GroupNorm (the reference's `nn.Sequential(Conv2d, GroupNorm)`: names `0`, `1`). */
export class ConvGroupNorm extends Module {
  readonly conv: Conv2d;
  readonly norm: GroupNorm;

  constructor(cin: number, d: number, kernel: 1 | 3, stride: 1 | 2, groups: number, seed?: number) {
    super();
    this.conv = this.module('0', new Conv2d(cin, d, kernel, { stride, padding: kernel === 3 ? 1 : 0, seed }));
    this.norm = this.module('1', new GroupNorm(groups, d));
    // Reference init: xavier-uniform weight, zero bias.
    tf.tidy(() => {
      this.conv.weight.assign(xavierUniform(this.conv.weight.shape, cin * kernel * kernel, d * kernel * kernel, { seed }) as tf.Tensor4D);
      this.conv.bias!.assign(tf.zerosLike(this.conv.bias!));
    });
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.norm.forward(this.conv.forward(x)) as tf.Tensor4D);
  }
}

/** The flattened multi-scale input of the encoder. */
export interface MultiScaleInput {
  /** `[B,S,d]` projected features of every level, row-major, largest level first. */
  src: tf.Tensor3D;
  /** `[B,S,d]` sine position + the level's embedding. */
  pos: tf.Tensor3D;
  /** `[B,S]` 1 for tokens over real pixels. */
  keepMask: tf.Tensor2D;
  /** `[B,L,2]` (w, h) fraction of each level covered by the real image. */
  validRatios: tf.Tensor3D;
  shapes: SpatialShapes;
}

/**
 * Deformable DETR's `input_proj`: the last `numLevels` backbone levels (1x1 conv + GroupNorm
 * each) and, when asked for one more level than the backbone returns, one extra stride-2 level
 * (3x3/2 conv + GroupNorm on the last backbone map).
 */
export function inputProjections(backboneChannels: readonly number[], numLevels: number, d: number, groups: number, seed?: number): ConvGroupNorm[] {
  const used = backboneChannels.slice(Math.max(0, backboneChannels.length - numLevels));
  const projections = used.map((c, i) => new ConvGroupNorm(c, d, 1, 1, groups, subSeed(seed, 10 + i)));
  if (numLevels > used.length) projections.push(new ConvGroupNorm(backboneChannels[backboneChannels.length - 1]!, d, 3, 2, groups, subSeed(seed, 20)));
  return projections;
}

/** Backbone levels (lowest stride first) through `input_proj`, with their padding masks. */
export function projectLevels(levels: readonly FeatureMap[], imageMask: tf.Tensor3D, projections: readonly ConvGroupNorm[]): Array<{ x: tf.Tensor4D; mask: tf.Tensor3D }> {
  const extra = projections.length > levels.length ? 1 : 0;
  const used = levels.slice(levels.length - (projections.length - extra));
  const maps = used.map((f, i) => ({ x: projections[i]!.forward(f.features), mask: f.mask }));
  if (extra) {
    const x = projections[used.length]!.forward(levels[levels.length - 1]!.features);
    maps.push({ x, mask: downsampleMask(imageMask, x.shape[1], x.shape[2]) });
  }
  return maps;
}

/** Projected maps -> the encoder's flattened input; `levelEmbed` `[L,d]` is added to each level's sine position. */
export function flattenLevels(maps: ReadonlyArray<{ x: tf.Tensor4D; mask: tf.Tensor3D }>, levelEmbed: tf.Tensor2D): MultiScaleInput {
  return tf.tidy(() => {
    const [B, , , d] = maps[0]!.x.shape;
    const embeds = tf.split(levelEmbed, maps.length, 0);
    const flat = maps.map(({ x, mask }, l) => {
      const [h, w] = [x.shape[1], x.shape[2]];
      const pos = tf.add(tf.reshape(sinePositionEmbedding(mask, { numFeats: d / 2 }), [B, h * w, d]), embeds[l]!);
      // Valid ratio: real rows / h (first column) and real columns / w (first row); padding is bottom / right.
      const rh = tf.div(tf.sum(tf.slice(mask, [0, 0, 0], [B, h, 1]), [1, 2]), h);
      const rw = tf.div(tf.sum(tf.slice(mask, [0, 0, 0], [B, 1, w]), [1, 2]), w);
      return { src: tf.reshape(x, [B, h * w, d]), pos, keep: tf.reshape(mask, [B, h * w]), ratio: tf.stack([rw, rh], 1), shape: [h, w] as [number, number] };
    });
    return {
      src: tf.concat(flat.map((f) => f.src), 1) as tf.Tensor3D,
      pos: tf.concat(flat.map((f) => f.pos), 1) as tf.Tensor3D,
      keepMask: tf.concat(flat.map((f) => f.keep), 1) as tf.Tensor2D,
      validRatios: tf.stack(flat.map((f) => f.ratio), 1) as tf.Tensor3D,
      shapes: flat.map((f) => f.shape),
    } as unknown as tf.TensorContainer;
  }) as unknown as MultiScaleInput;
}
