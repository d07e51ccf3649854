/**
 * Registers detkit's WebGPU kernels: fixes for stock kernels that break on real models, and
 * fused ops that cut the kernel count of a training step. Idempotent; touches only 'webgpu'.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { FUSED_ADAM_KERNEL } from '../fused-adam.js';
import { SUM_SQUARES_KERNEL } from '../sum-squares.js';
import { adamWebGpu } from './adam.js';
import { sumSquaresWebGpu } from './sum-squares.js';
import { makeChunkedAddN } from './add-n.js';
import { MS_DEFORM_ATTN_GRAD_KERNEL, MS_DEFORM_ATTN_KERNEL } from '../ms-deform-attn/kernels.js';
import { msDeformAttnGradWebGpu, msDeformAttnWebGpu } from './ms-deform-attn.js';
import { LAYER_NORM_GRAD_BETA_KERNEL, LAYER_NORM_GRAD_GAMMA_KERNEL, LAYER_NORM_GRAD_X_KERNEL, LAYER_NORM_KERNEL } from '../layer-norm.js';
import { layerNormGradBetaWebGpu, layerNormGradGammaWebGpu, layerNormGradXWebGpu, layerNormWebGpu } from './layer-norm.js';

const MARK = Symbol.for('detkit.webgpuKernel');
type Marked = KernelFunc & { [MARK]?: true };

/** Wraps a stock kernel (keeping its setup/dispose); returns false if absent or already ours. */
function override(name: string, make: (stock: KernelFunc) => KernelFunc): boolean {
  const stock = getKernel(name, 'webgpu');
  if (stock === undefined || (stock.kernelFunc as Marked)[MARK]) return false;
  const fn = make(stock.kernelFunc) as Marked;
  fn[MARK] = true;
  const config: KernelConfig = { ...stock, kernelFunc: fn };
  unregisterKernel(name, 'webgpu');
  registerKernel(config);
  return true;
}

/** Registers a kernel webgpu lacks; false if one is there already. */
function add(name: string, fn: KernelFunc): boolean {
  if (getKernel(name, 'webgpu') !== undefined) return false;
  registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc: fn });
  return true;
}

/** Needs `@tensorflow/tfjs-backend-webgpu` imported. Returns the kernels changed by this call. */
export function installWebGpuKernels(): string[] {
  const changed: string[] = [];
  if (override('AddN', makeChunkedAddN)) changed.push('AddN (chunked)');
  // DETKIT_WEBGPU_FUSED=0 leaves out the fused kernels (to measure what they save).
  if (process.env['DETKIT_WEBGPU_FUSED'] === '0') return changed;
  if (add(FUSED_ADAM_KERNEL, adamWebGpu)) changed.push(FUSED_ADAM_KERNEL);
  if (add(SUM_SQUARES_KERNEL, sumSquaresWebGpu)) changed.push(SUM_SQUARES_KERNEL);
  // Deformable attention: 1 dispatch forward and 4 backward, where the composed ops take dozens.
  if (add(MS_DEFORM_ATTN_KERNEL, msDeformAttnWebGpu)) changed.push(MS_DEFORM_ATTN_KERNEL);
  if (add(MS_DEFORM_ATTN_GRAD_KERNEL, msDeformAttnGradWebGpu)) changed.push(MS_DEFORM_ATTN_GRAD_KERNEL);
  // LayerNorm over the last axis: 1 dispatch forward and 3 backward, where the composed ops take ~35.
  if (add(LAYER_NORM_KERNEL, layerNormWebGpu)) changed.push(LAYER_NORM_KERNEL);
  if (add(LAYER_NORM_GRAD_X_KERNEL, layerNormGradXWebGpu)) changed.push(LAYER_NORM_GRAD_X_KERNEL);
  if (add(LAYER_NORM_GRAD_GAMMA_KERNEL, layerNormGradGammaWebGpu)) changed.push(LAYER_NORM_GRAD_GAMMA_KERNEL);
  if (add(LAYER_NORM_GRAD_BETA_KERNEL, layerNormGradBetaWebGpu)) changed.push(LAYER_NORM_GRAD_BETA_KERNEL);
  return changed;
}
