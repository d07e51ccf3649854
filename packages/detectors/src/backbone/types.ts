import type * as tf from '@tensorflow/tfjs-core';
import type { Module } from '@detkit/core';

/** One feature level with its padding mask downsampled to the same grid. */
export interface FeatureMap {
  /** `[B,h,w,C]` NHWC features. */
  features: tf.Tensor4D;
  /** `[B,h,w]` 1 where the cell covers real pixels, 0 for padding. */
  mask: tf.Tensor3D;
  /** Downsampling factor relative to the input. */
  stride: number;
}

/** What detectors need from a backbone (registered under the `backbone` kind). */
export interface Backbone extends Module {
  /** Channels of each returned level, lowest stride first. */
  readonly outChannels: readonly number[];
  readonly strides: readonly number[];
  /** images `[B,H,W,C]`, masks `[B,H,W]` (1 = real pixel) -> levels, lowest stride first. */
  forward(images: tf.Tensor4D, masks: tf.Tensor3D): FeatureMap[];
}
