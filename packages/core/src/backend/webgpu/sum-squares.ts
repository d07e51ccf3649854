/**
 * `DetkitSumSquares` on WebGPU: one workgroup strides over the tensor, then a tree reduction in
 * shared memory. `DetkitSumSquaresMany`: the same for up to SUM_SQUARES_MANY_INPUTS tensors in one dispatch,
 * workgroup i reducing input i (the gradient norm of a 187-parameter model: 27 dispatches, not 187).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

const WORKGROUP = 256;

class SumSquaresProgram {
  readonly variableNames: string[];
  readonly uniforms: string;
  readonly size = true;
  readonly outputShape: number[];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;
  /** One input named `x` (`DetkitSumSquares`), or `inputs` named x0, x1, ... */
  constructor(private readonly inputs?: number) {
    const names = inputs === undefined ? ['x'] : Array.from({ length: inputs }, (_, i) => `x${i}`);
    this.variableNames = names;
    this.uniforms = names.map((n) => `${n}Size : i32,`).join(' ');
    this.outputShape = [names.length];
    this.dispatch = [names.length, 1, 1];
    this.shaderKey = `detkit_sum_squares_${inputs ?? 'one'}`;
  }
  getUserCode(): string {
    const loop = (n: string) => `
          for (var k = i32(localId.x); k < uniforms.${n}Size; k = k + ${WORKGROUP}) {
            let v = ${n}[k];
            acc = acc + v * v;
          }`;
    const body = this.inputs === undefined ? loop('x') : `
        switch (i32(workgroupId.x)) {${this.variableNames.map((n, i) => `
          case ${i}: {${loop(n)}
          }`).join('')}
          default: {}
        }`;
    return `
      var<workgroup> partial : array<f32, ${WORKGROUP}>;
      fn main(index : i32) {
        var acc = 0.0;${body}
        partial[localId.x] = acc;
        workgroupBarrier();
        for (var half = ${WORKGROUP / 2}u; half > 0u; half = half / 2u) {
          if (localId.x < half) {
            partial[localId.x] = partial[localId.x] + partial[localId.x + half];
          }
          workgroupBarrier();
        }
        if (localId.x == 0u) {
          setOutputAtIndex(i32(workgroupId.x), partial[0]);
        }
      }`;
  }
}

interface WebGpuBackendLike {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: 'float32', uniforms: Array<{ type: 'int32'; data: number[] }>): TensorInfo;
}

export const sumSquaresWebGpu: KernelFunc = ((args: Parameters<KernelFunc>[0]) => {
  const backend = args.backend as unknown as WebGpuBackendLike;
  const { x } = args.inputs as { x: TensorInfo };
  const n = x.shape.reduce((a, b) => a * b, 1);
  return backend.runWebGPUProgram(new SumSquaresProgram(), [x], 'float32', [{ type: 'int32', data: [n] }]);
}) as unknown as KernelFunc;

/** `DetkitSumSquaresMany`: inputs x0 .. x(k-1), k <= SUM_SQUARES_MANY_INPUTS (../sum-squares.ts); output [k]. */
export const sumSquaresManyWebGpu: KernelFunc = ((args: Parameters<KernelFunc>[0]) => {
  const backend = args.backend as unknown as WebGpuBackendLike;
  const inputs = args.inputs as Record<string, TensorInfo>;
  const xs = Array.from({ length: Object.keys(inputs).length }, (_, i) => inputs[`x${i}`]!);
  const sizes = xs.map((x) => ({ type: 'int32' as const, data: [x.shape.reduce((a, b) => a * b, 1)] }));
  return backend.runWebGPUProgram(new SumSquaresProgram(xs.length), xs, 'float32', sizes);
}) as unknown as KernelFunc;
