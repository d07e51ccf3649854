/**
 * Training-mode BatchNorm over the last axis (`DetkitBatchNorm`, its three gradient kernels and
 * `DetkitRunningAverage`, see ../batch-norm.ts) as WGSL programs. x is read as [rows, C] (rows =
 * N*H*W for NHWC): the statistics are column statistics.
 *
 * - Forward: the mean (one workgroup per channel, summing x - x[row 0] so a large offset keeps
 *   float32's precision of the spread, as the LayerNorm kernels do), the biased variance (the
 *   mean of (x - mean)^2: two-pass, never E[x^2] - E[x]^2), then y elementwise: 3 dispatches.
 * - Backward: dbeta = sum of dy and dgamma = sum of dy * xhat per channel, then
 *   dx = gamma * rstd * (dy - dbeta / R - xhat * dgamma / R) elementwise: 3 dispatches.
 * - Running statistics: one elementwise dispatch per buffer.
 * Results agree with a float64 reference to ~1e-6 relative (test/webgpu-batch-norm.test.ts);
 * the order of the float adds differs from the composed ops, so not bit for bit.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BatchNormAttrs, RunningAverageAttrs } from '../batch-norm.js';
import { COL_WG, FlatProgram, columnSum, f32, rowsCols, type Uniform, type WebGpuBackendLike } from './programs.js';

type ColumnKind = 'mean' | 'variance' | 'dbeta' | 'dgamma';

const RSTD = 'let rstd = inverseSqrt(variance[c] + uniforms.eps);';

const COLUMN_CODE: Record<ColumnKind, string> = {
  mean: columnSum({ before: '\n        let pivot = x[c];', term: 'x[base + c] - pivot', result: 'pivot + total / f32(uniforms.rows)' }),
  variance: columnSum({ before: '\n        let m = mean[c];', term: '(x[base + c] - m) * (x[base + c] - m)', result: 'total / f32(uniforms.rows)' }),
  dbeta: columnSum({ term: 'dy[base + c]' }),
  dgamma: columnSum({ before: `\n        let m = mean[c];\n        ${RSTD}`, term: 'dy[base + c] * (x[base + c] - m) * rstd' }),
};

const COLUMN_INPUTS: Record<ColumnKind, string[]> = {
  mean: ['x'],
  variance: ['x', 'mean'],
  dbeta: ['dy'],
  dgamma: ['x', 'dy', 'mean', 'variance'],
};

/** A per-channel reduction over the rows: one workgroup per channel. */
class ColumnProgram {
  readonly variableNames: string[];
  readonly uniforms = 'rows : i32, cols : i32, eps : f32,';
  readonly workgroupSize: [number, number, number] = [COL_WG, 1, 1];
  readonly dispatchLayout: { x: number[] } = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly outputShape: number[];
  readonly shaderKey: string;

  constructor(readonly kind: ColumnKind, C: number) {
    this.variableNames = COLUMN_INPUTS[kind];
    this.outputShape = [C];
    this.dispatch = [C, 1, 1];
    this.shaderKey = `detkit_batch_norm_${kind}`;
  }
  getUserCode(): string {
    return COLUMN_CODE[this.kind];
  }
}

/** y = (x - mean) * rstd * gamma + beta. */
class NormalizeProgram extends FlatProgram {
  readonly variableNames = ['x', 'gamma', 'beta', 'mean', 'variance'];
  readonly uniforms = 'cols : i32, eps : f32,';
  readonly shaderKey = 'detkit_batch_norm_normalize';
  getUserCode(): string {
    return this.body(`
          let c = index % uniforms.cols;
          ${RSTD}
          setOutputAtIndex(index, (x[index] - mean[c]) * rstd * gamma[c] + beta[c]);`);
  }
}

/** dx = gamma * rstd * (dy - dbeta / R - xhat * dgamma / R). */
class GradXProgram extends FlatProgram {
  readonly variableNames = ['x', 'dy', 'gamma', 'mean', 'variance', 'dgamma', 'dbeta'];
  readonly uniforms = 'cols : i32, eps : f32, rows : f32,';
  readonly shaderKey = 'detkit_batch_norm_dx';
  getUserCode(): string {
    return this.body(`
          let c = index % uniforms.cols;
          ${RSTD}
          let xhat = (x[index] - mean[c]) * rstd;
          setOutputAtIndex(index, gamma[c] * rstd * (dy[index] - dbeta[c] / uniforms.rows - xhat * dgamma[c] / uniforms.rows));`);
  }
}

/** running * (1 - momentum) + stat * (scale * momentum). */
class RunningAverageProgram extends FlatProgram {
  readonly variableNames = ['running', 'stat'];
  readonly uniforms = 'keep : f32, take : f32,';
  readonly shaderKey = 'detkit_running_average';
  getUserCode(): string {
    return this.body('setOutputAtIndex(index, running[index] * uniforms.keep + stat[index] * uniforms.take);');
  }
}

const int = (d: number): Uniform => ({ type: 'int32', data: [d] });

function column(backend: WebGpuBackendLike, kind: ColumnKind, inputs: Record<string, TensorInfo>, rows: number, C: number, eps: number): TensorInfo {
  const program = new ColumnProgram(kind, C);
  return backend.runWebGPUProgram(program, COLUMN_INPUTS[kind].map((n) => inputs[n]!), 'float32', [int(rows), int(C), ...f32(eps)]);
}

const io = (args: Parameters<KernelFunc>[0]) => ({
  backend: args.backend as unknown as WebGpuBackendLike,
  eps: (args.attrs as unknown as BatchNormAttrs).eps ?? 0,
  inputs: args.inputs as Record<string, TensorInfo>,
});

export const batchNormWebGpu: KernelFunc = ((args: Parameters<KernelFunc>[0]) => {
  const { backend, eps, inputs } = io(args);
  const x = inputs['x']!;
  const [rows, C] = rowsCols(x);
  const mean = column(backend, 'mean', inputs, rows, C, eps);
  const variance = column(backend, 'variance', { ...inputs, mean }, rows, C, eps);
  const y = backend.runWebGPUProgram(new NormalizeProgram([...x.shape]), [x, inputs['gamma']!, inputs['beta']!, mean, variance], 'float32', [int(C), ...f32(eps)]);
  return [y, mean, variance];
}) as unknown as KernelFunc;

/** A gradient kernel that is one column program (dy has x's shape, so it gives rows and C). */
const columnKernel = (kind: 'dbeta' | 'dgamma'): KernelFunc =>
  ((args: Parameters<KernelFunc>[0]) => {
    const { backend, eps, inputs } = io(args);
    const [rows, C] = rowsCols(inputs['dy']!);
    return column(backend, kind, inputs, rows, C, eps);
  }) as unknown as KernelFunc;

export const batchNormGradBetaWebGpu = columnKernel('dbeta');
export const batchNormGradGammaWebGpu = columnKernel('dgamma');

export const batchNormGradXWebGpu: KernelFunc = ((args: Parameters<KernelFunc>[0]) => {
  const { backend, eps, inputs } = io(args);
  const x = inputs['x']!;
  const [rows, C] = rowsCols(x);
  const program = new GradXProgram([...x.shape]);
  return backend.runWebGPUProgram(program, program.variableNames.map((n) => inputs[n]!), 'float32', [int(C), ...f32(eps, rows)]);
}) as unknown as KernelFunc;

export const runningAverageWebGpu: KernelFunc = ((args: Parameters<KernelFunc>[0]) => {
  const backend = args.backend as unknown as WebGpuBackendLike;
  const { running, stat } = args.inputs as Record<'running' | 'stat', TensorInfo>;
  const { momentum, scale } = args.attrs as unknown as RunningAverageAttrs;
  return backend.runWebGPUProgram(new RunningAverageProgram([...running.shape]), [running, stat], 'float32', f32(1 - momentum, scale * momentum));
}) as unknown as KernelFunc;
