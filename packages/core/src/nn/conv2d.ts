import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import { Module } from './module.js';
import { torchDefaultBias, torchDefaultWeight } from './init.js';

export type Conv2dPadding = number | [number, number] | 'same' | 'valid';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: Conv2dPadding;
  dilation?: number | [number, number];
  bias?: boolean;
  seed?: number;
}

/**
 * 2-D convolution over NHWC inputs.
 *
 * Layout choice: `weight` is stored tfjs-style [kh, kw, in, out] (what tf.conv2d consumes, so
 * no transpose per step); the *name* matches torch.nn.Conv2d (`weight`, `bias`). Moving
 * weights to/from PyTorch ([out, in, kh, kw]) goes through `torchStateDictToDetkit` /
 * `detkitStateDictToTorch` (state-dict-convert.ts), which transpose every Conv2d weight.
 */
export class Conv2d extends Module {
  /** Marker read by the state-dict converters. */
  static readonly WEIGHT_LAYOUT = 'hwio' as const;
  readonly weight: tf.Variable<tf.Rank.R4>;
  readonly bias?: tf.Variable<tf.Rank.R1>;
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly padding: Conv2dPadding;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number | [number, number],
    opts: Conv2dOptions = {},
  ) {
    super();
    const [kh, kw] = pair(kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.dilation = pair(opts.dilation ?? 1);
    this.padding = opts.padding ?? 0;
    if ((this.stride[0] > 1 || this.stride[1] > 1) && (this.dilation[0] > 1 || this.dilation[1] > 1)) {
      throw new DetkitError('INVALID_ARGUMENT', `Conv2d: tfjs supports stride > 1 or dilation > 1, not both (stride [${this.stride}], dilation [${this.dilation}])`);
    }
    const fanIn = inChannels * kh * kw;
    const s = opts.seed;
    this.weight = this.param('weight', torchDefaultWeight([kh, kw, inChannels, outChannels], fanIn, { seed: s }) as tf.Tensor4D);
    if (opts.bias ?? true) {
      this.bias = this.param('bias', torchDefaultBias([outChannels], fanIn, { seed: s === undefined ? undefined : s + 1 }) as tf.Tensor1D);
    }
  }

  /** x: [N, H, W, inChannels] -> [N, H', W', outChannels]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.inChannels) {
      throw new DetkitError('INVALID_ARGUMENT', `Conv2d: expected NHWC input with ${this.inChannels} channels, got shape [${x.shape}]`);
    }
    return tf.tidy(() => {
      const y = tf.conv2d(x, this.weight, this.stride, tfPad(this.padding), 'NHWC', this.dilation);
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}

function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

function tfPad(p: Conv2dPadding): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  if (p === 'same' || p === 'valid') return p;
  const [ph, pw] = pair(p);
  if (ph === 0 && pw === 0) return 'valid';
  return [[0, 0], [ph, ph], [pw, pw], [0, 0]];
}

/** [out, in, kh, kw] (PyTorch) -> [kh, kw, in, out] (tfjs). */
export function convWeightFromTorch(w: tf.Tensor): tf.Tensor4D {
  return tf.transpose(w as tf.Tensor4D, [2, 3, 1, 0]);
}

/** [kh, kw, in, out] (tfjs) -> [out, in, kh, kw] (PyTorch). */
export function convWeightToTorch(w: tf.Tensor): tf.Tensor4D {
  return tf.transpose(w as tf.Tensor4D, [3, 2, 0, 1]);
}
