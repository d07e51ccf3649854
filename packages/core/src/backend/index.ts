export { selectBackend, parseBackendChoice, BACKEND_CHOICES } from './select-backend.js';
export type { BackendChoice, SelectBackendOptions, SelectedBackend } from './select-backend.js';
export { installWasmKernels, uninstallWasmKernels, stockWasmKernel } from './wasm/install.js';
export type { WasmKernelReport } from './wasm/install.js';
export { registerTfjsGradients } from './gradients.js';
