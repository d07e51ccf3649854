/**
 * AddN for tfjs's WebGPU backend in chunks. The stock kernel binds every input as its own
 * storage buffer; past the device's per-stage limit (8 unless requested higher) its pipeline is
 * invalid, and WebGPU then drops the whole submitted batch of kernels: zeros, no exception. A
 * DETR's summed loss terms (9+) and a global gradient norm (one term per parameter) exceed it.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

interface WebGpuBackendLike {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: object): void;
}

export function makeChunkedAddN(stock: KernelFunc): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const backend = args.backend as unknown as WebGpuBackendLike;
    const inputs = args.inputs as unknown as TensorInfo[];
    const max = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1); // one binding is the output
    if (inputs.length <= max) return stock(args);
    const temps: TensorInfo[] = [];
    let level = inputs;
    while (level.length > max) {
      const next: TensorInfo[] = [];
      for (let i = 0; i < level.length; i += max) {
        const chunk = level.slice(i, i + max);
        if (chunk.length === 1) next.push(chunk[0]!);
        else {
          const sum = stock({ ...args, inputs: chunk as never }) as TensorInfo;
          temps.push(sum);
          next.push(sum);
        }
      }
      level = next;
    }
    const out = stock({ ...args, inputs: level as never });
    // Queued work keeps its buffers: the backend frees them only after submitting.
    for (const t of temps) backend.disposeData(t.dataId);
    return out;
  }) as KernelFunc;
}
