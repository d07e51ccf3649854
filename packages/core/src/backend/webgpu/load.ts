/**
 * Brings up tfjs's WebGPU backend in Node on Dawn: finds an adapter, publishes WebGPU's
 * globals and a `navigator.gpu` that hands tfjs that adapter, then imports
 * `@tensorflow/tfjs-backend-webgpu` (it registers itself only if `navigator.gpu` exists when
 * it is first evaluated) and activates it. Both packages are optional dependencies: the
 * imports are dynamic and every failure comes back as a reason, never a throw.
 */
import * as tf from '@tensorflow/tfjs-core';
import { failReadsOnDeviceErrors } from './device-errors.js';
import { adapterLabel, findAdapter, type AdapterDescription, type AdapterLike, type DawnModule } from './adapter.js';

export type WebGpuAttempt = { ok: true; adapter: AdapterDescription; detail: string } | { ok: false; why: string };

function message(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.slice(0, 200);
}

/** A `navigator.gpu` that answers tfjs's one question with the adapter chosen here. */
function publishNavigatorGpu(adapter: AdapterLike): void {
  const gpu = { requestAdapter: async () => adapter, getPreferredCanvasFormat: () => 'rgba8unorm' };
  const g = globalThis as { navigator?: Record<string, unknown> };
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: `Node.js ${process.version}` }, configurable: true, writable: true });
}

/** The adapter of the active webgpu backend, once loadWebGpu succeeded. */
let active: AdapterDescription | undefined;

export function webGpuAdapter(): AdapterDescription | undefined {
  return tf.getBackend() === 'webgpu' ? active : undefined;
}

/** `allowSoftware`: false under 'auto' (a software adapter is never picked there). */
export async function loadWebGpu(allowSoftware: boolean): Promise<WebGpuAttempt> {
  if (active && tf.findBackendFactory('webgpu')) {
    // Already brought up in this process: tfjs keeps one backend instance per name.
    if (active.software && !allowSoftware) return { ok: false, why: `only a software adapter, ${adapterLabel(active)}, which 'auto' never picks` };
    return activate(active);
  }
  let dawn: DawnModule;
  try {
    const specifier: string = 'webgpu'; // a variable: bundlers and tsc leave an optional dependency alone
    dawn = (await import(specifier)) as DawnModule;
  } catch (e) {
    return { ok: false, why: `the 'webgpu' package (Dawn) is not loadable (${message(e)})` };
  }
  let found;
  try {
    found = await findAdapter(dawn, allowSoftware);
  } catch (e) {
    return { ok: false, why: `Dawn failed while looking for an adapter (${message(e)})` };
  }
  if (!found.ok) return found;
  Object.assign(globalThis, dawn.globals);
  publishNavigatorGpu(found.adapter);
  try {
    // A literal, unlike the optional imports elsewhere: a bundle (bench/gpu-host.sh) must carry it
    // inside, on the bundle's own tfjs-core. The comment keeps tsc building where it failed to install.
    // @ts-ignore
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    return { ok: false, why: `@tensorflow/tfjs-backend-webgpu not loadable (${message(e)})` };
  }
  if (!tf.findBackendFactory('webgpu')) {
    return { ok: false, why: '@tensorflow/tfjs-backend-webgpu was imported before navigator.gpu existed, so it did not register (import detkit\'s backend selection first)' };
  }
  active = found.info;
  return activate(found.info);
}

async function activate(info: AdapterDescription): Promise<WebGpuAttempt> {
  try {
    if (!(await tf.setBackend('webgpu'))) return { ok: false, why: `tf.setBackend('webgpu') returned false on ${adapterLabel(info)}` };
    await tf.ready();
    failReadsOnDeviceErrors(tf.backend());
  } catch (e) {
    return { ok: false, why: `the webgpu backend failed to start on ${adapterLabel(info)} (${message(e)})` };
  }
  return { ok: true, adapter: info, detail: `webgpu on ${adapterLabel(info)}` };
}
