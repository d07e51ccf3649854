/**
 * Picks the tfjs backend for a run: WebGPU on a hardware adapter (Dawn via the optional `webgpu`
 * package), native TensorFlow (tfjs-node-gpu, then tfjs-node; both optional installs that need
 * a libtensorflow download), then wasm (SIMD, with detkit's training kernels installed), then
 * the pure-JS cpu backend. Each candidate that fails says why, and the next one is tried.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import type { Logger } from '../registry/types.js';
import { registerTfjsGradients } from './gradients.js';
import { installWasmKernels } from './wasm/install.js';
import { loadWebGpu } from './webgpu/load.js';
import { cutHostOverhead } from './webgpu/host-overhead.js';
import { installWebGpuKernels } from './webgpu/install.js';

export type BackendChoice = 'auto' | 'webgpu' | 'tensorflow' | 'node' | 'node-gpu' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'tensorflow', 'node', 'node-gpu', 'wasm', 'cpu'];

export interface SelectBackendOptions {
  /** Explicit choice; defaults to env DETKIT_BACKEND, then 'auto'. */
  backend?: string;
  logger?: Logger;
}

export interface SelectedBackend {
  /** tfjs backend name now active: 'webgpu' | 'tensorflow' | 'wasm' | 'cpu'. */
  name: string;
  /** Why: what was chosen and what was skipped on the way. */
  reason: string;
}

type Attempt = { ok: true; detail: string } | { ok: false; why: string };

interface Candidate {
  label: string;
  tryIt: () => Promise<Attempt>;
}

function message(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.slice(0, 200);
}

async function activate(name: string): Promise<Attempt> {
  try {
    const ok = await tf.setBackend(name);
    if (!ok) return { ok: false, why: `tf.setBackend('${name}') returned false` };
    await tf.ready();
    return { ok: true, detail: '' };
  } catch (e) {
    return { ok: false, why: message(e) };
  }
}

function native(pkg: string): Candidate {
  return {
    label: pkg,
    tryIt: async () => {
      try {
        // A variable specifier keeps bundlers and tsc from resolving an optional dependency.
        const specifier: string = pkg;
        await import(specifier);
      } catch (e) {
        return { ok: false, why: `${pkg} not loadable (${message(e)})` };
      }
      const a = await activate('tensorflow');
      return a.ok ? { ok: true, detail: `native TensorFlow via ${pkg}` } : a;
    },
  };
}

/** `auto` takes only a hardware adapter; an explicit `webgpu` may run on SwiftShader. */
function webgpu(allowSoftware: boolean): Candidate {
  return {
    label: 'webgpu',
    tryIt: async () => {
      const a = await loadWebGpu(allowSoftware);
      if (!a.ok) return a;
      const kernels = installWebGpuKernels();
      const host = cutHostOverhead(tf.backend());
      const submit = tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE');
      return { ok: true, detail: `${a.detail}${kernels.length ? `; detkit kernels: ${kernels.join(', ')}` : ''}; host patches: ${host.length ? host.join(', ') : 'none'} (submit every ${submit} dispatches)` };
    },
  };
}

const wasm: Candidate = {
  label: 'wasm',
  tryIt: async () => {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
    } catch (e) {
      return { ok: false, why: `@tensorflow/tfjs-backend-wasm not loadable (${message(e)})` };
    }
    const report = installWasmKernels();
    const a = await activate('wasm');
    if (!a.ok) return a;
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const kernels = [...report.added, ...report.overridden];
    return { ok: true, detail: `wasm (${simd ? 'SIMD' : 'no SIMD'}, single thread${kernels.length ? `; detkit kernels: ${kernels.join(', ')}` : ''})` };
  },
};

const cpu: Candidate = {
  label: 'cpu',
  tryIt: async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    const a = await activate('cpu');
    return a.ok ? { ok: true, detail: 'pure-JS cpu (slow: a correctness reference, not a training backend)' } : a;
  },
};

function candidatesFor(choice: BackendChoice): Candidate[] {
  switch (choice) {
    case 'auto':
      return [webgpu(false), native('@tensorflow/tfjs-node-gpu'), native('@tensorflow/tfjs-node'), wasm, cpu];
    case 'webgpu':
      return [webgpu(true)];
    case 'tensorflow':
    case 'node':
      return [native('@tensorflow/tfjs-node')];
    case 'node-gpu':
      return [native('@tensorflow/tfjs-node-gpu')];
    case 'wasm':
      return [wasm];
    case 'cpu':
      return [cpu];
  }
}

export function parseBackendChoice(value: string, source: string): BackendChoice {
  const v = value.trim().toLowerCase();
  if ((BACKEND_CHOICES as readonly string[]).includes(v)) return v as BackendChoice;
  throw new DetkitError(
    'BACKEND_UNAVAILABLE',
    `unknown backend '${value}' (from ${source}); known: ${BACKEND_CHOICES.join(', ')}`,
    { backend: value, source },
  );
}

export async function selectBackend(opts: SelectBackendOptions = {}): Promise<SelectedBackend> {
  const env = process.env['DETKIT_BACKEND'];
  const [raw, source] =
    opts.backend !== undefined ? [opts.backend, 'option backend'] : env ? [env, 'env DETKIT_BACKEND'] : ['auto', 'default'];
  const choice = parseBackendChoice(raw, source);
  await registerTfjsGradients(); // training needs them whatever the backend
  const skipped: string[] = [];
  for (const c of candidatesFor(choice)) {
    const attempt = await c.tryIt();
    if (attempt.ok) {
      const reason = `${attempt.detail}; chosen by ${source}=${choice}${skipped.length ? `; skipped: ${skipped.join('; ')}` : ''}`;
      opts.logger?.info(`backend: ${tf.getBackend()} - ${reason}`);
      return { name: tf.getBackend(), reason };
    }
    opts.logger?.debug(`backend ${c.label} unavailable: ${attempt.why}`);
    skipped.push(attempt.why.startsWith(c.label) ? attempt.why : `${c.label}: ${attempt.why}`);
  }
  throw new DetkitError(
    'BACKEND_UNAVAILABLE',
    `backend '${choice}' (from ${source}) is unavailable: ${skipped.join('; ')}`,
    { backend: choice, source, reasons: skipped },
  );
}

/**
 * Whether `choice` can be selected in this process, leaving the active backend as it was:
 * `{ ok: false, why }` carries selectBackend's reasons (for suites that skip with a reason).
 */
export async function probeBackend(choice: BackendChoice): Promise<{ ok: true; name: string; reason: string } | { ok: false; why: string }> {
  const before = tf.getBackend();
  try {
    const r = await selectBackend({ backend: choice });
    return { ok: true, ...r };
  } catch (e) {
    return { ok: false, why: e instanceof Error ? e.message : String(e) };
  } finally {
    if (before && tf.getBackend() !== before) await tf.setBackend(before);
  }
}
