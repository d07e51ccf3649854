/** `DetkitSumSquares` on WebGPU: one workgroup strides over the tensor, then a tree reduction in shared memory. */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

const WORKGROUP = 256;

class SumSquaresProgram {
  readonly variableNames = ['x'];
  readonly uniforms = 'reduceSize : i32,';
  readonly size = true;
  readonly outputShape = [1];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number] = [1, 1, 1];
  readonly shaderKey = 'detkit_sum_squares';
  getUserCode(): string {
    return `
      var<workgroup> partial : array<f32, ${WORKGROUP}>;
      fn main(index : i32) {
        var acc = 0.0;
        for (var k = i32(localId.x); k < uniforms.reduceSize; k = k + ${WORKGROUP}) {
          let v = x[k];
          acc = acc + v * v;
        }
        partial[localId.x] = acc;
        workgroupBarrier();
        for (var half = ${WORKGROUP / 2}u; half > 0u; half = half / 2u) {
          if (localId.x < half) {
            partial[localId.x] = partial[localId.x] + partial[localId.x + half];
          }
          workgroupBarrier();
        }
        if (localId.x == 0u) {
          setOutputAtIndex(0, partial[0]);
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
