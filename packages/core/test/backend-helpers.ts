/** Shared by backend-*.test.ts: run the same tfjs computation on wasm and on cpu, compare. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs'; // registers the gradients (tfjs-core alone has none)
import { installWasmKernels } from '../src/backend/index.js';
import { randomValues } from './random-values.js';
import { scaledError } from '@detkit/core/testing';

export { randomValues };

export async function setUpBothBackends(): Promise<void> {
  installWasmKernels();
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
  await tf.ready();
}


export type Outputs = Float32Array[];

/** Runs `fn` on `backend` (tensors must be created inside fn) and returns its outputs as arrays. */
export function runOn(backend: 'wasm' | 'cpu', fn: () => tf.Tensor | tf.Tensor[]): { values: Outputs; shapes: number[][] } {
  const previous = tf.getBackend();
  tf.setBackend(backend);
  try {
    return tf.tidy(() => {
      const r = fn();
      const list = Array.isArray(r) ? r : [r];
      return { values: list.map((t) => Float32Array.from(t.dataSync())), shapes: list.map((t) => t.shape) };
    });
  } finally {
    tf.setBackend(previous);
  }
}


/** Worst relative error between wasm and cpu over all outputs (Infinity on a shape mismatch). */
export function wasmVsCpu(fn: () => tf.Tensor | tf.Tensor[]): { error: number; shapes: number[][] } {
  const w = runOn('wasm', fn);
  const c = runOn('cpu', fn);
  let error = 0;
  for (let i = 0; i < c.values.length; i++) {
    if (JSON.stringify(w.shapes[i]) !== JSON.stringify(c.shapes[i])) return { error: Infinity, shapes: w.shapes };
    error = Math.max(error, scaledError(w.values[i]!, c.values[i]!));
  }
  return { error, shapes: c.shapes };
}

export function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}
