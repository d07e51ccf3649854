/**
 * Backend-level helpers for writing wasm kernels out of the wasm backend's own kernels.
 * Kernels run below the engine: nothing here creates tf.Tensors, so every intermediate
 * TensorInfo must be released with `release()` (backend.disposeData), never tf.dispose.
 */
import { getKernel, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type WasmKernelArgs = {
  inputs: Record<string, TensorInfo>;
  backend: BackendWasm;
  attrs?: NamedAttrMap;
};

/** Calls the kernel currently registered for `name` on wasm (so overrides are honoured). */
export function runWasm(backend: BackendWasm, name: string, inputs: Record<string, TensorInfo>, attrs: object = {}): TensorInfo {
  const kernel = getKernel(name, 'wasm');
  if (kernel === undefined) throw new Error(`wasm kernel '${name}' is not registered`);
  return callKernel(kernel.kernelFunc, backend, inputs, attrs);
}

export function callKernel(fn: KernelFunc, backend: BackendWasm, inputs: Record<string, TensorInfo>, attrs: object = {}): TensorInfo {
  const out = fn({ inputs, backend, attrs: attrs as NamedAttrMap } as Parameters<KernelFunc>[0]);
  if (Array.isArray(out)) throw new Error('expected a single-output kernel');
  return out;
}

export function release(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

export function reshape(backend: BackendWasm, x: TensorInfo, shape: number[]): TensorInfo {
  return runWasm(backend, 'Reshape', { x }, { shape });
}

export function transpose(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasm(backend, 'Transpose', { x }, { perm });
}

/** A live view of a tensor's bytes on the wasm heap; re-take it after any allocation (the heap may grow). */
export function heapView(backend: BackendWasm, x: TensorInfo): Float32Array | Int32Array | Uint8Array {
  return backend.typedArrayFromHeap(x);
}
