/**
 * Registers detkit's WebGPU kernels: fixes for stock kernels that break on real models, and
 * fused ops that cut the kernel count of a training step. Idempotent; touches only 'webgpu'.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { chosenParts } from './env-choice.js';
import { FUSED_ADAM_KERNEL } from '../fused-adam.js';
import { SUM_SQUARES_KERNEL, SUM_SQUARES_MANY_KERNEL } from '../sum-squares.js';
import { adamWebGpu } from './adam.js';
import { enableAdamInPlace } from './adam-in-place.js';
import { sumSquaresManyWebGpu, sumSquaresWebGpu } from './sum-squares.js';
import { makeChunkedAddN } from './add-n.js';
import { MS_DEFORM_ATTN_GRAD_KERNEL, MS_DEFORM_ATTN_KERNEL } from '../ms-deform-attn/kernels.js';
import { msDeformAttnGradWebGpu, msDeformAttnWebGpu } from './ms-deform-attn.js';
import { LAYER_NORM_GRAD_BETA_KERNEL, LAYER_NORM_GRAD_GAMMA_KERNEL, LAYER_NORM_GRAD_X_KERNEL, LAYER_NORM_KERNEL } from '../layer-norm.js';
import { layerNormGradBetaWebGpu, layerNormGradGammaWebGpu, layerNormGradXWebGpu, layerNormWebGpu } from './layer-norm.js';
import { BATCH_NORM_GRAD_BETA_KERNEL, BATCH_NORM_GRAD_GAMMA_KERNEL, BATCH_NORM_GRAD_X_KERNEL, BATCH_NORM_KERNEL, RUNNING_AVERAGE_KERNEL } from '../batch-norm.js';
import { batchNormGradBetaWebGpu, batchNormGradGammaWebGpu, batchNormGradXWebGpu, batchNormWebGpu, runningAverageWebGpu } from './batch-norm.js';
import { FOCAL_LOSS_GRAD_LOGITS_KERNEL, FOCAL_LOSS_GRAD_TARGETS_KERNEL, FOCAL_LOSS_KERNEL } from '../focal-loss.js';
import { focalLossGradLogitsWebGpu, focalLossGradTargetsWebGpu, focalLossWebGpu } from './focal-loss.js';
import { PAIR_GIOU_GRAD_KERNEL, PAIR_GIOU_KERNEL } from '../giou.js';
import { pairGiouGradWebGpu, pairGiouWebGpu } from './giou.js';
import { makeConv2DBackpropFilter } from './conv-filter.js';

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

export const FUSED_GROUPS = ['adam', 'adam-in-place', 'sumsq', 'deform', 'layernorm', 'batchnorm', 'focal', 'giou', 'conv-filter'] as const;
export type FusedGroup = (typeof FUSED_GROUPS)[number];

/**
 * Which fused kernel groups to register, from DETKIT_WEBGPU_FUSED (to measure what each saves):
 * unset or '1' all, '0' none, else a comma list of group names (unknown names are refused).
 */
export function fusedGroups(setting: string | undefined): Set<FusedGroup> {
  return chosenParts('DETKIT_WEBGPU_FUSED', setting, FUSED_GROUPS, 'group');
}

/** Needs `@tensorflow/tfjs-backend-webgpu` imported. Returns the kernels changed by this call. */
export function installWebGpuKernels(): string[] {
  const changed: string[] = [];
  if (override('AddN', makeChunkedAddN)) changed.push('AddN (chunked)');
  const groups = fusedGroups(process.env['DETKIT_WEBGPU_FUSED']);
  const addAll = (group: FusedGroup, kernels: ReadonlyArray<readonly [string, KernelFunc]>) => {
    if (!groups.has(group)) return;
    for (const [name, fn] of kernels) if (add(name, fn)) changed.push(name);
  };
  addAll('adam', [[FUSED_ADAM_KERNEL, adamWebGpu]]);
  // One dispatch per parameter instead of the fused kernel's three, where the buffers allow.
  enableAdamInPlace(groups.has('adam-in-place'));
  if (groups.has('adam-in-place')) changed.push('Adam in place');
  addAll('sumsq', [[SUM_SQUARES_KERNEL, sumSquaresWebGpu], [SUM_SQUARES_MANY_KERNEL, sumSquaresManyWebGpu]]);
  // Deformable attention: 1 dispatch forward and 4 backward, where the composed ops take dozens.
  addAll('deform', [[MS_DEFORM_ATTN_KERNEL, msDeformAttnWebGpu], [MS_DEFORM_ATTN_GRAD_KERNEL, msDeformAttnGradWebGpu]]);
  // LayerNorm over the last axis: 1 dispatch forward and 3 backward, where the composed ops take ~35.
  addAll('layernorm', [
    [LAYER_NORM_KERNEL, layerNormWebGpu],
    [LAYER_NORM_GRAD_X_KERNEL, layerNormGradXWebGpu],
    [LAYER_NORM_GRAD_GAMMA_KERNEL, layerNormGradGammaWebGpu],
    [LAYER_NORM_GRAD_BETA_KERNEL, layerNormGradBetaWebGpu],
  ]);
  // Training-mode BatchNorm: 3 dispatches forward, 3 backward and 1 per running statistic, where
  // the composed ops take ~50.
  addAll('batchnorm', [
    [BATCH_NORM_KERNEL, batchNormWebGpu],
    [BATCH_NORM_GRAD_BETA_KERNEL, batchNormGradBetaWebGpu],
    [BATCH_NORM_GRAD_GAMMA_KERNEL, batchNormGradGammaWebGpu],
    [BATCH_NORM_GRAD_X_KERNEL, batchNormGradXWebGpu],
    [RUNNING_AVERAGE_KERNEL, runningAverageWebGpu],
  ]);
  // Sigmoid focal loss, elementwise: 1 dispatch forward and 1 per gradient, where the composed
  // ops take ~22 and ~40 (a DETR step runs it once per decoder layer).
  addAll('focal', [
    [FOCAL_LOSS_KERNEL, focalLossWebGpu],
    [FOCAL_LOSS_GRAD_LOGITS_KERNEL, focalLossGradLogitsWebGpu],
    [FOCAL_LOSS_GRAD_TARGETS_KERNEL, focalLossGradTargetsWebGpu],
  ]);
  // GIoU of matched box pairs (the box losses, KD-DETR's box term): 1 dispatch forward and 1 per
  // gradient, where the composed ops take ~45 and ~70.
  addAll('giou', [
    [PAIR_GIOU_KERNEL, pairGiouWebGpu],
    [PAIR_GIOU_GRAD_KERNEL, pairGiouGradWebGpu],
  ]);
  // The filter gradient with its reduction split over chunks of positions: the stock program's
  // one thread per filter element made the stem's gradient most of a 256x256 step's GPU time.
  if (groups.has('conv-filter') && override('Conv2DBackpropFilter', makeConv2DBackpropFilter)) changed.push('Conv2DBackpropFilter (split)');
  return changed;
}
