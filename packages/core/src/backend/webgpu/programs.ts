/**
 * Building blocks of detkit's WGSL programs, in the shape tfjs-backend-webgpu runs through
 * `runWebGPUProgram`: a flat one-thread-per-element program, and one workgroup per column of a
 * [rows, C] matrix summing a per-row term (the per-channel reductions of LayerNorm's dgamma and
 * dbeta and of BatchNorm's statistics and gradients).
 *
 * Workgroups are numbered flat from workgroup_id and num_workgroups: tfjs reshapes a dispatch
 * past maxComputeWorkgroupsPerDimension (65535) into 2-D/3-D, so more than 65535 groups work; the
 * padding workgroups of a reshaped dispatch read column 0 and write nothing (no early return
 * before a barrier: barriers must stay in uniform control flow).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';

export type Uniform = { type: 'int32' | 'float32'; data: number[] };

export interface WebGpuBackendLike {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: 'float32', uniforms?: Uniform[]): TensorInfo;
}

export const f32 = (...data: number[]): Uniform[] => data.map((d) => ({ type: 'float32', data: [d] }));

/** A flat, one-thread-per-output-element program; subclasses give the WGSL of one element. */
export abstract class FlatProgram {
  readonly size = true;
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  abstract readonly variableNames: string[];
  abstract readonly uniforms: string;
  abstract readonly shaderKey: string;

  constructor(readonly outputShape: number[]) {
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    const n = outputShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(n / this.workgroupSize[0]), 1, 1];
  }

  protected body(expr: string): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${expr}
        }
      }`;
  }
}

/** Tree sum of one vec2 per thread over a workgroup of `n`; every thread gets the total. */
export const WG_SUM = (n: number): string => `
  var<workgroup> red : array<vec2<f32>, ${n}>;
  fn wgSum(v : vec2<f32>) -> vec2<f32> {
    let lane = localId.x;
    red[lane] = v;
    workgroupBarrier();
    for (var step = ${n / 2}u; step > 0u; step = step / 2u) {
      if (lane < step) {
        red[lane] = red[lane] + red[lane + step];
      }
      workgroupBarrier();
    }
    let total = red[0];
    workgroupBarrier();
    return total;
  }
  fn groupNumber() -> i32 {
    return i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x);
  }
`;

/** Threads of a column-sum workgroup. */
export const COL_WG = 256;

export interface ColumnSumParts {
  /** WGSL run once per workgroup with `c` (the column) and `C` set, before the rows. */
  before?: string;
  /** WGSL per row, with `r` and `base` (= r * C) set. */
  perRow?: string;
  /** The f32 summed over the rows. */
  term: string;
  /** What is written at column c, from the sum `total` (default `total`). */
  result?: string;
}

/**
 * One workgroup (COL_WG threads) per column c of a [uniforms.rows, uniforms.cols] matrix: the
 * threads stride the rows, then a tree reduction; deterministic (no atomics, fixed order).
 * Parallelism is C workgroups x 256 threads: enough for the step sizes trained here (at 40k rows
 * each thread sums ~160 values); a very tall, narrow input would want a split over rows too.
 */
export function columnSum(p: ColumnSumParts): string {
  return `${WG_SUM(COL_WG)}
      fn main(index : i32) {
        let C = uniforms.cols;
        let col = groupNumber();
        let ok = col < C;
        let c = select(0, col, ok);${p.before ?? ''}
        var acc = 0.0;
        for (var r = i32(localId.x); r < uniforms.rows; r = r + ${COL_WG}) {
          let base = r * C;${p.perRow ?? ''}
          acc = acc + ${p.term};
        }
        let total = wgSum(vec2<f32>(acc, 0.0)).x;
        if (ok && localId.x == 0u) {
          setOutputAtIndex(c, ${p.result ?? 'total'});
        }
      }`;
}

/** [rows, C] of a tensor whose last axis is C (rows = the product of the leading dimensions). */
export function rowsCols(x: TensorInfo): [number, number] {
  const C = x.shape[x.shape.length - 1]!;
  return [x.shape.reduce((a, b) => a * b, 1) / C, C];
}
