/**
 * Finds a WebGPU adapter through Dawn (the npm `webgpu` package, an optional dependency).
 * A hardware adapter is taken as found. A software one (SwiftShader, llvmpipe) is returned
 * only when the caller allows it; when no adapter shows at all and software is allowed, the
 * SwiftShader Vulkan driver that Debian's `chromium` package ships is added to the Vulkan
 * loader's search (VK_ADD_DRIVER_FILES) and Dawn is asked again.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** What the banner names: GPUAdapterInfo's fields. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  description: string;
  /** A CPU implementation (SwiftShader, llvmpipe, lavapipe): correct, not fast. */
  software: boolean;
}

/** The parts of Dawn's module and objects used here (the `webgpu` package's `create`/`globals`). */
export interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
export interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<AdapterLike | null>;
}
export interface AdapterLike {
  readonly info?: { vendor?: string; architecture?: string; description?: string; device?: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
}

export type AdapterSearch =
  | { ok: true; gpu: GpuLike; adapter: AdapterLike; info: AdapterDescription }
  | { ok: false; why: string };

/** Debian's chromium package puts SwiftShader's Vulkan driver here. */
export const DEBIAN_SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software/i;

export function describeAdapter(adapter: AdapterLike): AdapterDescription {
  const i = adapter.info ?? {};
  const vendor = i.vendor || 'unknown vendor';
  const architecture = i.architecture || 'unknown architecture';
  const description = i.description || i.device || 'no description';
  const software = Boolean(i.isFallbackAdapter ?? adapter.isFallbackAdapter) || SOFTWARE.test(`${vendor} ${architecture} ${description}`);
  return { vendor, architecture, description, software };
}

export function adapterLabel(a: AdapterDescription): string {
  return `${a.vendor} ${a.architecture} (${a.description})${a.software ? ', software' : ''}`;
}

/**
 * Every Dawn instance made here stays referenced for the life of the process: a collected
 * instance takes down adapters and devices still in use (a segfault mid-training otherwise).
 */
const instances: GpuLike[] = [];

async function ask(dawn: DawnModule): Promise<{ gpu: GpuLike; adapter: AdapterLike | null }> {
  // Unset, it makes the windowing libraries Dawn loads print "error: XDG_RUNTIME_DIR is invalid"
  // (harmless: nothing here draws to a window).
  process.env['XDG_RUNTIME_DIR'] ??= tmpdir();
  // A new Dawn instance re-reads the Vulkan loader's environment.
  const gpu = dawn.create(dawnFlags());
  instances.push(gpu);
  return { gpu, adapter: await gpu.requestAdapter({ powerPreference: 'high-performance' }) };
}

/**
 * Flags for Dawn's `create` from DETKIT_DAWN_FLAGS, separated by spaces or semicolons (a flag's
 * value may hold commas), e.g. `enable-dawn-features=skip_validation,disable_robustness`: Dawn's
 * toggles, for measuring what its per-call validation costs a dispatch-bound training step.
 */
export function dawnFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env['DETKIT_DAWN_FLAGS'] ?? '').split(/[\s;]+/).filter((f) => f.length > 0);
}

/** Where the SwiftShader driver file is looked for: DETKIT_SWIFTSHADER_ICD, else Debian's path. */
export function swiftShaderIcdPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['DETKIT_SWIFTSHADER_ICD'] || DEBIAN_SWIFTSHADER_ICD;
}

export async function findAdapter(dawn: DawnModule, allowSoftware: boolean): Promise<AdapterSearch> {
  let { gpu, adapter } = await ask(dawn);
  if (adapter) {
    const info = describeAdapter(adapter);
    if (!info.software || allowSoftware) return { ok: true, gpu, adapter, info };
    return { ok: false, why: `only a software adapter, ${adapterLabel(info)}, which 'auto' never picks (ask for --backend webgpu to use it)` };
  }
  if (!allowSoftware) return { ok: false, why: 'no WebGPU hardware adapter (Dawn found no usable Vulkan device)' };
  const icd = swiftShaderIcdPath();
  if (!existsSync(icd)) {
    return { ok: false, why: `no WebGPU adapter: no usable Vulkan device, and no SwiftShader driver at ${icd} (install Debian's chromium and libvulkan1, or point DETKIT_SWIFTSHADER_ICD at a vk_swiftshader_icd.json)` };
  }
  const before = process.env['VK_ADD_DRIVER_FILES'];
  process.env['VK_ADD_DRIVER_FILES'] = before ? `${before}:${icd}` : icd;
  ({ gpu, adapter } = await ask(dawn));
  if (!adapter) {
    return { ok: false, why: `no WebGPU adapter, even with SwiftShader's driver ${icd} added (is libvulkan1 installed?)` };
  }
  return { ok: true, gpu, adapter, info: describeAdapter(adapter) };
}
