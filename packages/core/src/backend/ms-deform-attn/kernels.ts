/**
 * The multi-scale deformable attention kernels (`DetkitMsDeformAttn` and its gradient kernel)
 * for wasm and cpu, and the registered gradient that ties them together (on every backend that
 * has both kernels). Both backends run the same loops (./loops.ts) on their own memory: wasm on
 * views of its heap, cpu on its arrays. webgpu's kernels are WGSL programs
 * (../webgpu/ms-deform-attn.ts), registered by installWebGpuKernels when detkit selects webgpu.
 * A gather + bilinear-weights composition of tfjs ops (./composed.ts) measured ~15x slower.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { msDeformAttnBackward, msDeformAttnForward, type MsDeformGeometry } from './loops.js';

export const MS_DEFORM_ATTN_KERNEL = 'DetkitMsDeformAttn';
export const MS_DEFORM_ATTN_GRAD_KERNEL = 'DetkitMsDeformAttnGrad';

/** Kernel attributes: the level grid, static for a given input size. */
export interface MsDeformAttnAttrs {
  /** [h_0, w_0, h_1, w_1, ...]. */
  spatialShapes: number[];
  /** First token of each level along S. */
  levelStarts: number[];
}

/** Float32 buffers of inputs and fresh outputs, per backend. */
interface BufferIO {
  read(x: TensorInfo): Float32Array;
  /** Allocates every output first (a wasm allocation may move the heap), then returns views. */
  outputs(shapes: number[][]): { infos: TensorInfo[]; views: () => Float32Array[] };
}

function bufferIO(backendName: 'wasm' | 'cpu', backend: unknown): BufferIO {
  if (backendName === 'wasm') {
    const b = backend as { makeOutput(s: number[], d: string): TensorInfo; typedArrayFromHeap(t: TensorInfo): Float32Array };
    return {
      read: (x) => b.typedArrayFromHeap(x),
      outputs: (shapes) => {
        const infos = shapes.map((s) => b.makeOutput(s, 'float32'));
        return { infos, views: () => infos.map((t) => b.typedArrayFromHeap(t)) };
      },
    };
  }
  const b = backend as { data: { get(id: unknown): { values: Float32Array } }; makeTensorInfo(s: number[], d: string, v: Float32Array): TensorInfo };
  return {
    read: (x) => b.data.get(x.dataId).values,
    outputs: (shapes) => {
      const arrays = shapes.map((s) => new Float32Array(tf.util.sizeFromShape(s)));
      return { infos: arrays.map((a, i) => b.makeTensorInfo(shapes[i]!, 'float32', a)), views: () => arrays };
    },
  };
}

function geometry(value: TensorInfo, weights: TensorInfo, attrs: MsDeformAttnAttrs): MsDeformGeometry {
  const [batch, tokens, heads, headDim] = value.shape as [number, number, number, number];
  const [, queries, , levels, points] = weights.shape as [number, number, number, number, number];
  return { batch, tokens, heads, headDim, queries, levels, points, spatialShapes: attrs.spatialShapes, levelStarts: attrs.levelStarts };
}

type Inputs = Record<'value' | 'locations' | 'weights', TensorInfo> & { dy?: TensorInfo };

function forwardKernel(backendName: 'wasm' | 'cpu'): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const io = bufferIO(backendName, args.backend);
    const { value, locations, weights } = args.inputs as Inputs;
    const g = geometry(value, weights, args.attrs as unknown as MsDeformAttnAttrs);
    const { infos, views } = io.outputs([[g.batch, g.queries, g.heads * g.headDim]]);
    // Views after the allocation: it may have grown (and detached) the wasm heap.
    const [out] = views() as [Float32Array];
    msDeformAttnForward(g, io.read(value), io.read(locations), io.read(weights), out);
    return infos[0]!;
  }) as unknown as KernelFunc;
}

function gradKernel(backendName: 'wasm' | 'cpu'): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const io = bufferIO(backendName, args.backend);
    const { value, locations, weights, dy } = args.inputs as Required<Inputs>;
    const g = geometry(value, weights, args.attrs as unknown as MsDeformAttnAttrs);
    const { infos, views } = io.outputs([[...value.shape], [...locations.shape], [...weights.shape]]);
    const [dValue, dLocations, dWeights] = views() as [Float32Array, Float32Array, Float32Array];
    msDeformAttnBackward(g, io.read(value), io.read(locations), io.read(weights), io.read(dy), dValue, dLocations, dWeights);
    return infos;
  }) as unknown as KernelFunc;
}

/** The kernels for one backend (wasm's go through installWasmKernels too, so its report lists them). */
export function msDeformAttnKernels(backendName: 'wasm' | 'cpu'): Array<[string, KernelFunc]> {
  return [
    [MS_DEFORM_ATTN_KERNEL, forwardKernel(backendName)],
    [MS_DEFORM_ATTN_GRAD_KERNEL, gradKernel(backendName)],
  ];
}

/**
 * One gradient for every backend that has the forward kernel: the grad kernel computes all
 * three in one pass. They are computed here, not in the per-input closures: tfjs runs each
 * closure in its own tidy, which would dispose the two outputs it does not return.
 */
function registerMsDeformAttnGradient(): void {
  if (tf.getGradient(MS_DEFORM_ATTN_KERNEL) !== undefined) return;
  tf.registerGradient({
    kernelName: MS_DEFORM_ATTN_KERNEL,
    inputsToSave: ['value', 'locations', 'weights'],
    gradFunc: (dy, saved, attrs) => {
      const [value, locations, weights] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const [dValue, dLocations, dWeights] = tf.engine().runKernel(
        MS_DEFORM_ATTN_GRAD_KERNEL,
        { value, locations, weights, dy: dy as tf.Tensor },
        attrs as NamedAttrMap,
      ) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
      return { value: () => dValue, locations: () => dLocations, weights: () => dWeights };
    },
  });
}

/**
 * Registers the kernels on `backendName` (wasm or cpu) unless present, and the gradient.
 * True when the backend has the kernels now: wasm, cpu, and webgpu once installWebGpuKernels
 * ran (selectBackend does; not with DETKIT_WEBGPU_FUSED=0). False elsewhere: use the composed ops.
 */
export function ensureMsDeformAttnKernels(backendName: string): boolean {
  if (backendName === 'wasm' || backendName === 'cpu') {
    for (const [name, fn] of msDeformAttnKernels(backendName)) {
      if (tf.getKernel(name, backendName) === undefined) tf.registerKernel({ kernelName: name, backendName, kernelFunc: fn });
    }
  }
  const ok = tf.getKernel(MS_DEFORM_ATTN_KERNEL, backendName) !== undefined && tf.getKernel(MS_DEFORM_ATTN_GRAD_KERNEL, backendName) !== undefined;
  if (ok) registerMsDeformAttnGradient();
  return ok;
}
