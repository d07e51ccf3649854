/**
 * detkit's fused Adam / AdamW step (kernel `DetkitAdamStep`, see ../fused-adam.ts) as three
 * WGSL programs per parameter: new exp_avg, new exp_avg_sq, new parameter. As tensor ops the
 * update is ~14 dispatches per parameter; on a GPU a training step is bound by the number of
 * dispatches, not by arithmetic. (tfjs's WebGPU programs have one output each, hence three.)
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { adamStepConstants, type FusedAdamAttrs } from '../fused-adam.js';
import { FlatProgram, f32, type WebGpuBackendLike } from './programs.js';

/** exp_avg (or exp_avg_sq) after the step: beta * slot + (1 - beta) * g (or g^2), g = grad * gradScale + l2 * param. */
class AdamMomentProgram extends FlatProgram {
  readonly variableNames = ['param', 'grad', 'slot'];
  readonly uniforms = 'beta : f32, l2 : f32, gradScale : f32,';
  readonly shaderKey: string;
  constructor(shape: number[], private readonly squared: boolean) {
    super(shape);
    this.shaderKey = `detkit_adam_${squared ? 'exp_avg_sq' : 'exp_avg'}`;
  }
  getUserCode(): string {
    return this.body(`
          let g = grad[index] * uniforms.gradScale + uniforms.l2 * param[index];
          setOutputAtIndex(index, uniforms.beta * slot[index] + (1.0 - uniforms.beta) * ${this.squared ? 'g * g' : 'g'});`);
  }
}

/** The parameter after the step, from the new moments (PyTorch's formula, as the wasm kernel). */
class AdamParamProgram extends FlatProgram {
  readonly variableNames = ['param', 'expAvg', 'expAvgSq'];
  readonly uniforms = 'decay : f32, stepSize : f32, sqrtBc2 : f32, eps : f32,';
  readonly shaderKey = 'detkit_adam_param';
  getUserCode(): string {
    return this.body(`
          let denom = sqrt(expAvgSq[index]) / uniforms.sqrtBc2 + uniforms.eps;
          setOutputAtIndex(index, param[index] * uniforms.decay - expAvg[index] / denom * uniforms.stepSize);`);
  }
}

export const adamWebGpu: KernelFunc = ((args: Parameters<KernelFunc>[0]) => {
  const backend = args.backend as unknown as WebGpuBackendLike;
  const { param, grad, m, v } = args.inputs as Record<'param' | 'grad' | 'm' | 'v', TensorInfo>;
  const a = args.attrs as unknown as FusedAdamAttrs;
  const shape = [...param.shape];
  const { l2, decay, stepSize, sqrtBc2 } = adamStepConstants(a);
  const scale = a.gradScale ?? 1;
  const mOut = backend.runWebGPUProgram(new AdamMomentProgram(shape, false), [param, grad, m], 'float32', f32(a.beta1, l2, scale));
  const vOut = backend.runWebGPUProgram(new AdamMomentProgram(shape, true), [param, grad, v], 'float32', f32(a.beta2, l2, scale));
  const pOut = backend.runWebGPUProgram(new AdamParamProgram(shape), [param, mOut, vOut], 'float32', f32(decay, stepSize, sqrtBc2, a.eps));
  return [pOut, mOut, vOut];
}) as unknown as KernelFunc;
