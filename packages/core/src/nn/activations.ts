import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';

/** Activation functions by name, so configs can say `activation: 'gelu'`. */
export type ActivationName = 'relu' | 'gelu' | 'silu' | 'sigmoid' | 'tanh' | 'identity';
export type Activation = (x: tf.Tensor) => tf.Tensor;

/** GELU, tanh approximation (tfjs has no erf gradient-friendly exact form on all backends). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const c = Math.sqrt(2 / Math.PI);
    const inner = tf.mul(c, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}

export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** log(x / (1 - x)) with clamping, as DETR variants use to go from boxes back to logits. */
export function inverseSigmoid(x: tf.Tensor, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const c = tf.clipByValue(x, 0, 1);
    return tf.log(tf.div(tf.maximum(c, eps), tf.maximum(tf.sub(1, c), eps)));
  });
}

const ACTIVATIONS: Record<ActivationName, Activation> = {
  relu: (x) => tf.relu(x),
  gelu,
  silu,
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  identity: (x) => x,
};

export function getActivation(name: ActivationName | string): Activation {
  const f = (ACTIVATIONS as Record<string, Activation>)[name];
  if (!f) {
    throw new DetkitError('INVALID_ARGUMENT', `Unknown activation '${name}'; known: ${Object.keys(ACTIVATIONS).join(', ')}`);
  }
  return f;
}
