import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, Linear, Module, msDeformAttn, xavierUniform } from '@detkit/core';
import { subSeed } from '../transformer/encoder.js';

/** The level grid a memory was flattened from: [h, w] per level, largest first. */
export type SpatialShapes = ReadonlyArray<readonly [number, number]>;

export interface MSDeformAttnOptions {
  dModel: number;
  numHeads: number;
  numLevels: number;
  numPoints: number;
  seed?: number;
}

/**
 * Deformable DETR's MSDeformAttn: each query predicts, per head, level and point, a sampling
 * offset (`sampling_offsets`) around its reference point and a weight (`attention_weights`,
 * softmax over levels x points); the projected values (`value_proj`) are sampled bilinearly
 * there (core's `msDeformAttn`: a fused kernel on wasm / cpu) and projected (`output_proj`).
 * Reference names and init: offsets' weight 0 and bias on a ring of head directions, point k at
 * distance k+1, so at init every head looks in its own direction, further for later points.
 */
export class MSDeformAttn extends Module {
  readonly samplingOffsets: Linear;
  readonly attentionWeights: Linear;
  readonly valueProj: Linear;
  readonly outputProj: Linear;
  readonly numHeads: number;
  readonly numLevels: number;
  readonly numPoints: number;

  constructor(opts: MSDeformAttnOptions) {
    super();
    const { dModel: d, numHeads: H, numLevels: L, numPoints: P, seed } = opts;
    if (d % H !== 0) throw new DetkitError('INVALID_ARGUMENT', `MSDeformAttn: dModel ${d} not divisible by numHeads ${H}`);
    this.numHeads = H;
    this.numLevels = L;
    this.numPoints = P;
    this.samplingOffsets = this.module('sampling_offsets', new Linear(d, H * L * P * 2, { seed: subSeed(seed, 1) }));
    this.attentionWeights = this.module('attention_weights', new Linear(d, H * L * P, { seed: subSeed(seed, 2) }));
    this.valueProj = this.module('value_proj', new Linear(d, d, { seed: subSeed(seed, 3) }));
    this.outputProj = this.module('output_proj', new Linear(d, d, { seed: subSeed(seed, 4) }));
    tf.tidy(() => {
      this.samplingOffsets.weight.assign(tf.zerosLike(this.samplingOffsets.weight));
      this.samplingOffsets.bias!.assign(tf.tensor1d(offsetGrid(H, L, P)));
      this.attentionWeights.weight.assign(tf.zerosLike(this.attentionWeights.weight));
      this.attentionWeights.bias!.assign(tf.zerosLike(this.attentionWeights.bias!));
      for (const [k, lin] of [[5, this.valueProj], [6, this.outputProj]] as const) {
        lin.weight.assign(xavierUniform([d, d], d, d, { seed: subSeed(seed, k) }));
        lin.bias!.assign(tf.zerosLike(lin.bias!));
      }
    });
  }

  /**
   * query `[B,Q,d]`; reference `[B,Q,L,2]` points or `[B,Q,L,4]` boxes (normalised, already
   * scaled by each level's valid ratio); input `[B,S,d]` the flattened levels; keepMask `[B,S]`
   * 1 for real tokens (padded values are zeroed, as the reference's masked_fill). -> `[B,Q,d]`.
   */
  forward(query: tf.Tensor3D, reference: tf.Tensor4D, input: tf.Tensor3D, shapes: SpatialShapes, keepMask: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, Q] = query.shape;
      const S = input.shape[1];
      const { numHeads: H, numLevels: L, numPoints: P } = this;
      if (shapes.length !== L || reference.shape[2] !== L) {
        throw new DetkitError('INVALID_ARGUMENT', `MSDeformAttn: built for ${L} levels, got ${shapes.length} shapes and reference [${reference.shape}]`);
      }
      const d = input.shape[2];
      const value = tf.reshape(tf.mul(this.valueProj.forward(input), tf.expandDims(keepMask, -1)), [B, S, H, d / H]);
      const offsets = tf.reshape(this.samplingOffsets.forward(query), [B, Q, H, L, P, 2]);
      const weights = tf.reshape(tf.softmax(tf.reshape(this.attentionWeights.forward(query), [B, Q, H, L * P]), -1), [B, Q, H, L, P]);
      const ref = tf.reshape(reference, [B, Q, 1, L, 1, reference.shape[3]]);
      let locations: tf.Tensor;
      if (reference.shape[3] === 2) {
        // Offsets are in pixels of each level: divide by (w, h).
        const wh = tf.tensor(shapes.flatMap(([h, w]) => [w, h]), [1, 1, 1, L, 1, 2]);
        locations = tf.add(ref, tf.div(offsets, wh));
      } else {
        // Box references: offsets are in units of half the box size, spread over the points.
        const [centre, size] = tf.split(ref, 2, -1) as [tf.Tensor, tf.Tensor];
        locations = tf.add(centre, tf.mul(offsets, tf.mul(size, 0.5 / P)));
      }
      const sampled = msDeformAttn(value, shapes, locations, weights);
      return this.outputProj.forward(sampled) as tf.Tensor3D;
    });
  }
}

/** The reference's sampling-offset bias: [H, L, P, 2] head directions scaled to max-norm 1, times point index + 1. */
export function offsetGrid(heads: number, levels: number, points: number): Float32Array {
  const out = new Float32Array(heads * levels * points * 2);
  for (let h = 0; h < heads; h++) {
    const theta = (2 * Math.PI * h) / heads;
    const [c, s] = [Math.cos(theta), Math.sin(theta)];
    const m = Math.max(Math.abs(c), Math.abs(s));
    for (let l = 0; l < levels; l++) {
      for (let p = 0; p < points; p++) {
        const i = ((h * levels + l) * points + p) * 2;
        out[i] = (c / m) * (p + 1);
        out[i + 1] = (s / m) * (p + 1);
      }
    }
  }
  return out;
}
