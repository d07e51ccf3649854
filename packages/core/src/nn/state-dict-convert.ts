import * as tf from '@tensorflow/tfjs-core';
import type { Module } from './module.js';
import { Conv2d, convWeightFromTorch, convWeightToTorch } from './conv2d.js';

/**
 * detkit names every tensor as the PyTorch reference does; only the layout of Conv2d weights
 * differs ([kh, kw, in, out] here, [out, in, kh, kw] in PyTorch). These two functions turn a
 * state dict from one convention into the other for a given module tree. Returned tensors that
 * were transposed are new (caller disposes); the others are the inputs passed through.
 */
export function torchStateDictToDetkit(model: Module, sd: Map<string, tf.Tensor>): Map<string, tf.Tensor> {
  return convertConvWeights(model, sd, convWeightFromTorch);
}

export function detkitStateDictToTorch(model: Module, sd: Map<string, tf.Tensor>): Map<string, tf.Tensor> {
  return convertConvWeights(model, sd, convWeightToTorch);
}

/** Names of the tensors that the converters transpose (the weights of every Conv2d). */
export function convWeightNames(model: Module): Set<string> {
  const names = new Set<string>();
  for (const [path, m] of model.namedModules()) {
    if (m instanceof Conv2d) names.add(path === '' ? 'weight' : `${path}.weight`);
  }
  return names;
}

function convertConvWeights(model: Module, sd: Map<string, tf.Tensor>, f: (t: tf.Tensor) => tf.Tensor): Map<string, tf.Tensor> {
  const convs = convWeightNames(model);
  const out = new Map<string, tf.Tensor>();
  for (const [k, v] of sd) out.set(k, convs.has(k) && v.rank === 4 ? f(v) : v);
  return out;
}
