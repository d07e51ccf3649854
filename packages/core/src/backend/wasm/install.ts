/**
 * Registers detkit's wasm kernels: the training kernels tfjs 4.22's wasm backend lacks, and
 * faster replacements for BatchMatMul / _FusedMatMul. Idempotent; touches only 'wasm'.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { DetkitError } from '../../errors.js';
import { makeFastBatchMatMul } from './batch-matmul.js';
import { makeFastFusedMatMul } from './fused-matmul.js';
import { conv2DBackpropFilterWasm } from './conv2d-backprop-filter.js';
import { depthwiseBackpropFilterWasm } from './depthwise-backprop-filter.js';
import { depthwiseBackpropInputWasm } from './depthwise-backprop-input.js';
import { unsortedSegmentSumWasm } from './unsorted-segment-sum.js';
import { conv2DBackpropInputWasm } from './transposed-conv.js';
import { makeSharedIdentity } from './identity.js';
import { makeFastSlice, makeFastSplitV } from './slice.js';
import { makeFastTile } from './tile.js';
import { makeFastConcat } from './concat.js';
import { makeFastGatherV2 } from './gather.js';
import { msDeformAttnKernels } from '../ms-deform-attn/kernels.js';

const MARK = Symbol.for('detkit.wasmKernel');
type Marked = KernelFunc & { [MARK]?: { original?: KernelFunc } };

export interface WasmKernelReport {
  /** Kernels added because wasm had none. */
  added: string[];
  /** Stock kernels wrapped by faster ones. */
  overridden: string[];
}

function mark(fn: KernelFunc, original?: KernelFunc): KernelFunc {
  (fn as Marked)[MARK] = { original };
  return fn;
}

function isOurs(name: string): boolean {
  const k = getKernel(name, 'wasm');
  return k !== undefined && (k.kernelFunc as Marked)[MARK] !== undefined;
}

/** Adds a kernel wasm lacks; leaves a kernel someone else registered alone. */
function add(name: string, fn: KernelFunc, report: WasmKernelReport): void {
  if (getKernel(name, 'wasm') !== undefined) return;
  registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: mark(fn) });
  report.added.push(name);
}

/** Wraps the stock kernel, keeping its setup/dispose so backend init still prepares it. */
function override(name: string, make: (original: KernelFunc) => KernelFunc, report: WasmKernelReport): void {
  const stock = getKernel(name, 'wasm');
  if (stock === undefined || isOurs(name)) return;
  const config: KernelConfig = { ...stock, kernelFunc: mark(make(stock.kernelFunc), stock.kernelFunc) };
  unregisterKernel(name, 'wasm'); // re-registering without this logs a warning
  registerKernel(config);
  report.overridden.push(name);
}

/** The stock kernel behind one of our overrides (for benchmarks and tests), or the current one. */
export function stockWasmKernel(name: string): KernelFunc | undefined {
  const k = getKernel(name, 'wasm');
  if (k === undefined) return undefined;
  return (k.kernelFunc as Marked)[MARK]?.original ?? k.kernelFunc;
}

/** Needs the wasm backend's kernels registered first: `import '@tensorflow/tfjs-backend-wasm'`. */
export function installWasmKernels(): WasmKernelReport {
  if (getKernel('BatchMatMul', 'wasm') === undefined) {
    throw new DetkitError('BACKEND_UNAVAILABLE', "installWasmKernels: the wasm backend is not loaded; import '@tensorflow/tfjs-backend-wasm' first");
  }
  const report: WasmKernelReport = { added: [], overridden: [] };
  add('Conv2DBackpropFilter', conv2DBackpropFilterWasm, report);
  add('DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilterWasm, report);
  add('DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInputWasm, report);
  add('UnsortedSegmentSum', unsortedSegmentSumWasm, report);
  // Deformable DETR's sampling (forward and gradient kernels; the op registers the gradient).
  for (const [name, fn] of msDeformAttnKernels('wasm')) add(name, fn, report);
  override('BatchMatMul', makeFastBatchMatMul, report);
  override('_FusedMatMul', makeFastFusedMatMul, report);
  override('Conv2DBackpropInput', () => conv2DBackpropInputWasm as unknown as KernelFunc, report);
  override('Identity', makeSharedIdentity, report);
  override('Slice', makeFastSlice, report);
  override('SplitV', makeFastSplitV, report);
  override('Tile', makeFastTile, report);
  override('Concat', makeFastConcat, report);
  override('GatherV2', makeFastGatherV2, report);
  return report;
}

const OVERRIDDEN = ['BatchMatMul', '_FusedMatMul', 'Conv2DBackpropInput', 'Identity', 'Slice', 'SplitV', 'Tile', 'Concat', 'GatherV2'];

/** Restores the stock wasm kernels (benchmarks compare before/after in one process). */
export function uninstallWasmKernels(): void {
  for (const name of OVERRIDDEN) {
    const k = getKernel(name, 'wasm');
    const original = k && (k.kernelFunc as Marked)[MARK]?.original;
    if (k === undefined || original === undefined) continue;
    unregisterKernel(name, 'wasm');
    registerKernel({ ...k, kernelFunc: original });
  }
  for (const name of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum', ...msDeformAttnKernels('wasm').map(([n]) => n)]) {
    if (isOurs(name)) unregisterKernel(name, 'wasm');
  }
}
