import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d, Conv2d, DetkitError, Module } from '@detkit/core';
import { downsampleMask } from './mask.js';
import type { Backbone, FeatureMap } from './types.js';
import { tidyAny } from '../transformer/tidy.js';

export interface SmallCnnOptions {
  inChannels?: number;
  /** Output channels of each stride-2 3x3 conv (default [16, 32, 32]: stride 8). */
  channels?: number[];
  batchNorm?: boolean;
  seed?: number;
}

/** A few stride-2 3x3 convolutions with ReLU (optionally BN): a backbone for tests and tiny runs. */
export class SmallCnn extends Module implements Backbone {
  readonly outChannels: number[];
  readonly strides: number[];
  private readonly convs: Conv2d[];
  private readonly bns: BatchNorm2d[];

  constructor(opts: SmallCnnOptions = {}) {
    super();
    const chans = opts.channels ?? [16, 32, 32];
    if (chans.length === 0) throw new DetkitError('INVALID_ARGUMENT', 'small-cnn: channels must list at least one conv');
    let cin = opts.inChannels ?? 3;
    this.convs = this.moduleList(
      'convs',
      chans.map((c, i) => {
        const conv = new Conv2d(cin, c, 3, { stride: 2, padding: 1, seed: opts.seed === undefined ? undefined : opts.seed + 2 * i });
        cin = c;
        return conv;
      }),
    );
    this.bns = opts.batchNorm ? this.moduleList('bns', chans.map((c) => new BatchNorm2d(c))) : [];
    this.outChannels = [cin];
    this.strides = [2 ** chans.length];
  }

  forward(images: tf.Tensor4D, masks: tf.Tensor3D): FeatureMap[] {
    return tidyAny(() => {
      let x = images;
      this.convs.forEach((c, i) => {
        x = c.forward(x);
        if (this.bns[i]) x = this.bns[i]!.forward(x);
        x = tf.relu(x);
      });
      return [{ features: x, mask: downsampleMask(masks, x.shape[1], x.shape[2]), stride: this.strides[0]! }];
    });
  }
}
