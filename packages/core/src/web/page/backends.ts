// The page's tfjs backend: webgpu, then webgl, then wasm (the first that starts on real GPU
// hardware; wasm beats a software GPU, as `auto` does in Node), or the one named by `?backend=`. The bundle registers the backends it includes (webgpu only when its
// package is installed); wasm's .wasm files are served beside the bundle.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { DetkitError, installWasmKernels } from '../../browser.js';

export const BACKEND_ORDER = ['webgpu', 'webgl', 'wasm'] as const;

export interface StartedBackend {
  name: string;
  /** Backends tried before it, each with why it did not start. */
  skipped: string[];
}

/** Starts the first backend of the order (or `wanted`) that initialises. */
export async function startBackend(siteUrl: string, wanted?: string | null): Promise<StartedBackend> {
  // The site's own wasm files; one thread, as in Node (threads need cross-origin isolation).
  setWasmPaths(new URL('./', siteUrl).href);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  // detkit's wasm kernels (the same as Node's), so wasm numbers match the CLI's.
  installWasmKernels();
  const order = wanted ? [wanted] : [...BACKEND_ORDER];
  const skipped: string[] = [];
  for (const name of order) {
    if (!tf.findBackendFactory(name)) {
      skipped.push(`${name}: not in this bundle`);
      continue;
    }
    const skip = wanted ? undefined : await reasonToSkip(name);
    if (skip) {
      skipped.push(`${name}: ${skip}`);
      continue;
    }
    try {
      if ((await tf.setBackend(name)) && tf.getBackend() === name) {
        await tf.ready();
        return { name, skipped };
      }
      skipped.push(`${name}: did not initialise`);
    } catch (e) {
      skipped.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new DetkitError('BACKEND_UNAVAILABLE', `no tfjs backend started in this browser (${skipped.join('; ')})`);
}

/**
 * Why `auto` should pass over `backend` here: no device, or a CPU emulation of a GPU (SwiftShader,
 * llvmpipe, a fallback adapter), which wasm beats. Undefined when it is worth trying.
 */
async function reasonToSkip(backend: string): Promise<string | undefined> {
  if (backend === 'webgl') {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return 'no WebGL2';
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : '';
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|software/i.test(renderer) ? `software renderer ${renderer}, slower than wasm` : undefined;
  }
  if (backend === 'webgpu') {
    type Adapter = { info?: { isFallbackAdapter?: boolean; description?: string } };
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<Adapter | null> } }).gpu;
    if (!gpu) return 'no navigator.gpu';
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (!adapter) return 'no adapter';
    return adapter.info?.isFallbackAdapter ? `fallback adapter ${adapter.info.description ?? ''}, slower than wasm` : undefined;
  }
  return undefined;
}
