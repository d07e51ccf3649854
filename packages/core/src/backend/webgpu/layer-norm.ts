/**
 * LayerNorm over the last axis (`DetkitLayerNorm` and its three gradient kernels, see
 * ../layer-norm.ts) as WGSL programs: one dispatch forward, one per gradient (dx, dgamma, dbeta).
 * x is read as [rows, C] (rows = the product of the leading dimensions).
 *
 * Row statistics are two-pass (mean, then the mean of squared deviations: biased variance, as
 * tf.moments and PyTorch), float32 throughout, on values shifted by the row's first element:
 * for a row with a large offset (values ~1000, spread ~0.1) x - pivot is exact (Sterbenz), so
 * the sums, the mean and x - mean keep float32's relative precision of the spread, where an
 * unshifted float32 mean is off by about one ulp of the offset (6e-5 at 1000, ~1e-3 of a 0.03
 * standard deviation; the composed ops on cpu show that error). Results agree with a float64
 * reference to ~1e-6 relative (test/webgpu-layer-norm.test.ts checks 1e-5, large offsets
 * included) and with the composed tfjs ops to the same on ordinary data; the order of the
 * float adds differs from the composed ops, so not bit for bit.
 *
 * - Forward and dx: one workgroup (64 threads) per row. Threads stride the row (coalesced),
 *   tree reductions in workgroup memory give the mean, the variance and, for dx, the two row
 *   sums sum(g*gamma) and sum(g*gamma*xhat); dx = rstd * (g*gamma - mean(g*gamma) - xhat *
 *   mean(g*gamma*xhat)). Each backward program recomputes the statistics from x (two reads of
 *   the row): cheaper than a program and a tensor to save them, since a step is bound by
 *   dispatches (~0.19 ms each on an H200), not arithmetic.
 * - dbeta = sum over rows of g, dgamma = sum over rows of g * xhat: one workgroup (256 threads)
 *   per column, the threads striding the rows, then a tree reduction; deterministic (no
 *   atomics, fixed order). Parallelism is C workgroups x 256 threads (65k threads at C = 256):
 *   at 40k rows each thread sums ~160 values. Why not a thread per column looping the rows?
 *   Only C threads (256: one or two SMs busy) each walking 40k dependent loads. dgamma needs
 *   each row's mean and rstd: every column's workgroup recomputes them for its rows, C-fold
 *   redundant reads of x (each thread streams whole rows it owns, which stay in cache between
 *   the two passes). That is ~2 C reads per element of g: at 40k x 256 about 5e9 cached reads,
 *   of the order of a millisecond on an H200 by estimate (not measured), against ~0.1 ms for the
 *   step sizes the benchmark trains (hundreds to a few thousand rows), and no extra dispatch.
 *   If large images make it matter, save (mean, rstd) from a second forward program and read
 *   them here (one more dispatch per LayerNorm).
 *
 * Workgroups are numbered flat from workgroup_id and num_workgroups: tfjs reshapes a dispatch
 * past maxComputeWorkgroupsPerDimension (65535) into 2-D/3-D, so more than 65535 rows work; the
 * padding workgroups of a reshaped dispatch read row (column) 0 and write nothing (no early
 * return before a barrier: barriers must stay in uniform control flow).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { LayerNormAttrs } from '../layer-norm.js';
import { COL_WG, WG_SUM, columnSum, rowsCols, type Uniform, type WebGpuBackendLike } from './programs.js';

const ROW_WG = 64;

type Kind = 'forward' | 'dx' | 'dgamma' | 'dbeta';

/**
 * Row statistics by the workgroup (forward, dx), shifted by the row's first element (pivot):
 * sets `pivot`, `shift` (mean - pivot) and `rstd` of row `base`; xhat = (x - pivot - shift) * rstd.
 */
const ROW_STATS = `
    let pivot = x[base];
    var s = 0.0;
    for (var c = lane; c < C; c = c + ${ROW_WG}) {
      s = s + (x[base + c] - pivot);
    }
    let shift = wgSum(vec2<f32>(s, 0.0)).x / f32(C);
    var q = 0.0;
    for (var c = lane; c < C; c = c + ${ROW_WG}) {
      let d = x[base + c] - pivot - shift;
      q = q + d * d;
    }
    let rstd = inverseSqrt(wgSum(vec2<f32>(q, 0.0)).x / f32(C) + uniforms.eps);`;

const CODE: Record<Kind, string> = {
  forward: `${WG_SUM(ROW_WG)}
      fn main(index : i32) {
        let C = uniforms.cols;
        let lane = i32(localId.x);
        let row = groupNumber();
        let ok = row < uniforms.rows;
        let base = select(0, row * C, ok);
        ${ROW_STATS}
        if (ok) {
          for (var c = lane; c < C; c = c + ${ROW_WG}) {
            setOutputAtIndex(base + c, (x[base + c] - pivot - shift) * rstd * gamma[c] + beta[c]);
          }
        }
      }`,
  dx: `${WG_SUM(ROW_WG)}
      fn main(index : i32) {
        let C = uniforms.cols;
        let lane = i32(localId.x);
        let row = groupNumber();
        let ok = row < uniforms.rows;
        let base = select(0, row * C, ok);
        ${ROW_STATS}
        var sums = vec2<f32>(0.0);
        for (var c = lane; c < C; c = c + ${ROW_WG}) {
          let gg = dy[base + c] * gamma[c];
          sums = sums + vec2<f32>(gg, gg * (x[base + c] - pivot - shift) * rstd);
        }
        let means = wgSum(sums) / f32(C);
        if (ok) {
          for (var c = lane; c < C; c = c + ${ROW_WG}) {
            let gg = dy[base + c] * gamma[c];
            let xhat = (x[base + c] - pivot - shift) * rstd;
            setOutputAtIndex(base + c, rstd * (gg - means.x - xhat * means.y));
          }
        }
      }`,
  // A row's statistics again, serially per row (this workgroup walks a column, not a row).
  dgamma: columnSum({
    perRow: `
          let pivot = x[base];
          var s = 0.0;
          for (var k = 0; k < C; k = k + 1) {
            s = s + (x[base + k] - pivot);
          }
          let shift = s / f32(C);
          var q = 0.0;
          for (var k = 0; k < C; k = k + 1) {
            let d = x[base + k] - pivot - shift;
            q = q + d * d;
          }
          let rstd = inverseSqrt(q / f32(C) + uniforms.eps);`,
    term: 'dy[base + c] * (x[base + c] - pivot - shift) * rstd',
  }),
  dbeta: columnSum({ term: 'dy[base + c]' }),
};

const VARIABLES: Record<Kind, string[]> = {
  forward: ['x', 'gamma', 'beta'],
  dx: ['x', 'gamma', 'dy'],
  dgamma: ['x', 'dy'],
  dbeta: ['dy'],
};

class LayerNormProgram {
  readonly variableNames: string[];
  readonly uniforms = 'rows : i32, cols : i32, eps : f32,';
  readonly workgroupSize: [number, number, number];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;

  constructor(readonly kind: Kind, readonly outputShape: number[], groups: number) {
    this.variableNames = VARIABLES[kind];
    this.workgroupSize = [kind === 'forward' || kind === 'dx' ? ROW_WG : COL_WG, 1, 1];
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [groups, 1, 1];
    this.shaderKey = `detkit_layer_norm_${kind}`;
  }
  getUserCode(): string {
    return CODE[this.kind];
  }
}

function kernel(kind: Kind): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const backend = args.backend as unknown as WebGpuBackendLike;
    const { eps } = args.attrs as unknown as LayerNormAttrs;
    const inputs = args.inputs as Record<string, TensorInfo>;
    const ref = (inputs['x'] ?? inputs['dy'])!;
    const [rows, C] = rowsCols(ref);
    const perColumn = kind === 'dgamma' || kind === 'dbeta';
    const program = new LayerNormProgram(kind, perColumn ? [C] : [...ref.shape], perColumn ? C : rows);
    const uniforms: Uniform[] = [{ type: 'int32', data: [rows] }, { type: 'int32', data: [C] }, { type: 'float32', data: [eps ?? 0] }];
    return backend.runWebGPUProgram(program, VARIABLES[kind].map((n) => inputs[n]!), 'float32', uniforms);
  }) as unknown as KernelFunc;
}

export const layerNormWebGpu = kernel('forward');
export const layerNormGradXWebGpu = kernel('dx');
export const layerNormGradGammaWebGpu = kernel('dgamma');
export const layerNormGradBetaWebGpu = kernel('dbeta');
