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
