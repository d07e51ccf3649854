import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import { nextDefaultSeed } from './seed.js';

/**
 * Weight initializers mirroring torch.nn.init, seeded so a model built twice from the same
 * seed is bit-identical. Fans are given explicitly: layouts differ between PyTorch and tfjs,
 * so inferring them from the shape would be a guess.
 */

export interface InitOptions {
  /** Seed for tf.randomUniform; a fresh one from the default seed stream when omitted. */
  seed?: number;
}

/** Uniform in [-bound, bound). */
export function uniform(shape: number[], bound: number, opts: InitOptions = {}): tf.Tensor {
  return tf.randomUniform(shape, -bound, bound, 'float32', opts.seed ?? nextDefaultSeed());
}

/** torch.nn.init.xavier_uniform_: bound = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(shape: number[], fanIn: number, fanOut: number, opts: InitOptions & { gain?: number } = {}): tf.Tensor {
  assertFan(fanIn + fanOut, 'xavierUniform');
  const bound = (opts.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, bound, opts);
}

/**
 * torch.nn.init.kaiming_uniform_ with leaky-relu gain: bound = sqrt(6 / ((1 + a^2) fanIn)).
 * With a = sqrt(5) (PyTorch's Linear/Conv default) this is 1/sqrt(fanIn).
 */
export function kaimingUniform(shape: number[], fanIn: number, opts: InitOptions & { a?: number } = {}): tf.Tensor {
  assertFan(fanIn, 'kaimingUniform');
  const a = opts.a ?? 0;
  const bound = Math.sqrt(6 / ((1 + a * a) * fanIn));
  return uniform(shape, bound, opts);
}

/** PyTorch's default Linear/Conv weight init (kaiming_uniform_ with a = sqrt(5)). */
export function torchDefaultWeight(shape: number[], fanIn: number, opts: InitOptions = {}): tf.Tensor {
  return kaimingUniform(shape, fanIn, { ...opts, a: Math.sqrt(5) });
}

/** PyTorch's default Linear/Conv bias init: uniform(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function torchDefaultBias(shape: number[], fanIn: number, opts: InitOptions = {}): tf.Tensor {
  assertFan(fanIn, 'torchDefaultBias');
  return uniform(shape, 1 / Math.sqrt(fanIn), opts);
}

function assertFan(fan: number, fn: string): void {
  if (!(fan > 0)) throw new DetkitError('INVALID_ARGUMENT', `${fn}: fan must be positive, got ${fan}`);
}
