/**
 * One kernel for a whole Adam / AdamW parameter update (new param, exp_avg, exp_avg_sq in one
 * pass) on the wasm and cpu backends (webgpu: three WGSL programs, ./webgpu/adam.ts). Written as tensor ops the update is ~14 kernels per
 * parameter: ~3,000 kernel launches per step for a 200-parameter DETR, whose engine overhead
 * cost more than the arithmetic. The loop runs in float64 and rounds once to float32 (the op
 * version rounds after every op: the two agree to float32 precision).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

export const FUSED_ADAM_KERNEL = 'DetkitAdamStep';

/** The hyper-parameters of one step, as PyTorch's Adam/AdamW (amsgrad off). */
export interface FusedAdamAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: decay the weights (p -= lr*wd*p); else Adam: add wd*p to the gradient. */
  decoupled: boolean;
  /** 1-based step number (bias corrections). */
  step: number;
  /** The gradient counts as grad * gradScale (clipping), rounded to float32 as tf.mul would. Default 1. */
  gradScale?: number;
}

/**
 * The per-step constants every implementation of the update uses (wasm/cpu loop below, the
 * webgpu programs, the webgpu in-place dispatch): p' = p * decay - m' / (sqrt(v') / sqrtBc2 + eps)
 * * stepSize, with g = grad * gradScale + l2 * p.
 */
export function adamStepConstants(a: FusedAdamAttrs): { l2: number; decay: number; stepSize: number; sqrtBc2: number } {
  return {
    l2: a.decoupled ? 0 : a.weightDecay,
    decay: a.decoupled ? 1 - a.lr * a.weightDecay : 1,
    stepSize: a.lr / (1 - a.beta1 ** a.step),
    sqrtBc2: Math.sqrt(1 - a.beta2 ** a.step),
  };
}

/** Heap / buffer access per backend: wasm views its heap, cpu holds typed arrays. */
interface BufferIO {
  read(x: TensorInfo): Float32Array;
  /** Allocates all outputs first (a wasm allocation may move the heap), then returns views. */
  outputs(shape: number[], count: number): { infos: TensorInfo[]; views: () => Float32Array[] };
}

function bufferIO(backendName: string, backend: unknown): BufferIO | undefined {
  if (backendName === 'wasm') {
    const b = backend as { makeOutput(s: number[], d: string): TensorInfo; typedArrayFromHeap(t: TensorInfo): Float32Array };
    return {
      read: (x) => b.typedArrayFromHeap(x),
      outputs: (shape, count) => {
        const infos = Array.from({ length: count }, () => b.makeOutput(shape, 'float32'));
        return { infos, views: () => infos.map((t) => b.typedArrayFromHeap(t)) };
      },
    };
  }
  if (backendName === 'cpu') {
    const b = backend as { data: { get(id: unknown): { values: Float32Array } }; makeTensorInfo(s: number[], d: string, v: Float32Array): TensorInfo };
    return {
      read: (x) => b.data.get(x.dataId).values,
      outputs: (shape, count) => {
        const arrays = Array.from({ length: count }, () => new Float32Array(tf.util.sizeFromShape(shape)));
        return { infos: arrays.map((a) => b.makeTensorInfo(shape, 'float32', a)), views: () => arrays };
      },
    };
  }
  return undefined;
}

function makeKernel(backendName: string): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const io = bufferIO(backendName, args.backend)!;
    const { param, grad, m, v } = args.inputs as Record<'param' | 'grad' | 'm' | 'v', TensorInfo>;
    const a = args.attrs as unknown as FusedAdamAttrs;
    const { infos, views } = io.outputs([...param.shape], 3);
    const [pOut, mOut, vOut] = views() as [Float32Array, Float32Array, Float32Array];
    const p = io.read(param);
    const g = io.read(grad);
    const m0 = io.read(m);
    const v0 = io.read(v);
    const { beta1: b1, beta2: b2, eps } = a;
    const { decay, l2, stepSize, sqrtBc2 } = adamStepConstants(a);
    const scale = Math.fround(a.gradScale ?? 1);
    for (let i = 0; i < p.length; i++) {
      const w = p[i]!;
      // The scaled gradient rounded to float32, bit for bit what tf.mul(grad, scale) gave before.
      const gi = (scale === 1 ? g[i]! : Math.fround(g[i]! * scale)) + l2 * w;
      const mi = b1 * m0[i]! + (1 - b1) * gi;
      const vi = b2 * v0[i]! + (1 - b2) * gi * gi;
      mOut[i] = mi;
      vOut[i] = vi;
      pOut[i] = w * decay - (mi / (Math.sqrt(vi) / sqrtBc2 + eps)) * stepSize;
    }
    return infos;
  }) as unknown as KernelFunc;
}

/** Registers the wasm/cpu kernel on first use; true when the active backend has one (webgpu: ./webgpu/adam.ts). */
function ensureKernel(): boolean {
  const name = tf.getBackend();
  if ((name === 'wasm' || name === 'cpu') && tf.getKernel(FUSED_ADAM_KERNEL, name) === undefined) {
    tf.registerKernel({ kernelName: FUSED_ADAM_KERNEL, backendName: name, kernelFunc: makeKernel(name) });
  }
  return tf.getKernel(FUSED_ADAM_KERNEL, name) !== undefined;
}

/**
 * One Adam/AdamW step of one float32 parameter: returns [param, exp_avg, exp_avg_sq], or
 * undefined when the active backend has no fused kernel (the caller then uses tensor ops).
 */
export function fusedAdamStep(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: FusedAdamAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] | undefined {
  if ([param, grad, m, v].some((t) => t.dtype !== 'float32') || !ensureKernel()) return undefined;
  return tf.engine().runKernel(FUSED_ADAM_KERNEL, { param, grad, m, v }, attrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}
