export { selectBackend, parseBackendChoice, probeBackend, BACKEND_CHOICES } from './select-backend.js';
export type { BackendChoice, SelectBackendOptions, SelectedBackend } from './select-backend.js';
export { installWasmKernels, uninstallWasmKernels, stockWasmKernel } from './wasm/install.js';
export type { WasmKernelReport } from './wasm/install.js';
export { registerTfjsGradients } from './gradients.js';
export { webGpuAdapter, loadWebGpu } from './webgpu/load.js';
export { describeAdapter, adapterLabel, DEBIAN_SWIFTSHADER_ICD } from './webgpu/adapter.js';
export type { AdapterDescription } from './webgpu/adapter.js';
export * from './ms-deform-attn/index.js';
