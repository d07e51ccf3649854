/**
 * Helpers of the webgpu kernel suites: which programs a call dispatches, the same computation on
 * the cpu backend, and per-key relative errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { scaledError } from '@detkit/core/testing';

/** The shader keys of the tfjs programs (each one dispatch) run on webgpu while `fn` runs. */
export function programsDuring(fn: () => void): string[] {
  const b = tf.backend() as unknown as { runWebGPUProgram: (...a: unknown[]) => unknown };
  const stock = b.runWebGPUProgram;
  const keys: string[] = [];
  b.runWebGPUProgram = (...a: unknown[]) => (keys.push((a[0] as { shaderKey?: string }).shaderKey ?? '?'), stock.apply(b, a));
  try {
    fn();
  } finally {
    b.runWebGPUProgram = stock;
  }
  return keys;
}

/** Runs `f` on the cpu backend, then returns to webgpu. */
export async function onCpu<T>(f: () => Promise<T>): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return await f();
  } finally {
    await tf.setBackend('webgpu');
  }
}

/** scaledError of every key of `got` against `want`. */
export function errorsByKey<K extends string>(got: Record<K, ArrayLike<number>>, want: Record<K, ArrayLike<number>>, keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, scaledError(got[k], want[k])])) as Record<K, number>;
}

export const fmtErrors = (e: Record<string, number>): string => Object.entries(e).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ');
