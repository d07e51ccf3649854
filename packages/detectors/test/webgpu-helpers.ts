import * as tf from '@tensorflow/tfjs-core';
import { probeBackend } from '@detkit/core';

/**
 * Whether this process can run the webgpu backend (a hardware adapter, or SwiftShader from
 * Debian's chromium package): `{ ok: false, why }` says why not, so the suite is skipped with
 * the reason printed, never silently.
 */
export async function probeWebGpu(): Promise<{ ok: true; adapter: string } | { ok: false; why: string }> {
  const r = await probeBackend('webgpu');
  return r.ok ? { ok: true, adapter: r.reason.split(';')[0]! } : r;
}

/** max |a - b| / max |b|: the error relative to the tensor's scale (elementwise relative blows up near 0). */
export function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Host copies of every parameter, by name (async: works on webgpu). */
export async function hostParams(m: { namedParameters(): Array<[string, tf.Variable]> }): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [n, v] of m.namedParameters()) out.set(n, ((await v.data()) as Float32Array).slice());
  return out;
}

/** Sets every parameter from host copies (the model lives on the active backend). */
export function setParams(m: { namedParameters(): Array<[string, tf.Variable]> }, values: Map<string, Float32Array>): void {
  tf.tidy(() => {
    for (const [n, v] of m.namedParameters()) v.assign(tf.tensor(values.get(n)!, v.shape));
  });
}
