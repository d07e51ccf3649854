/**
 * `Conv2DBackpropFilter` on WebGPU with the reduction split over the batch and the image.
 *
 * tfjs's program gives each filter element one thread that loops over every output position
 * (batch x height x width). The stem of a backbone has few filter elements (3x3x3x32 = 864) and
 * many positions (32 images of 128x128 = 524k), so a handful of threads each run a half-million
 * step loop: on an H200 that one kernel took 457 of the 565 GPU ms of a batch-32 256x256 training
 * step (bench/gpu-host.sh probe kernel-ms, 2026-11-28).
 *
 * Here the positions are cut into chunks, so threads = chunks x filter elements reach
 * TARGET_THREADS: pass 1 writes one partial sum per (chunk, filter element), pass 2 adds the
 * chunks in a fixed order (deterministic, no atomics). Where the filter alone fills the GPU, one
 * chunk and one pass. NHWC only (what detkit's models use); NCHW goes to the stock kernel.
 */
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { FlatProgram, type Uniform, type WebGpuBackendLike } from './programs.js';

/** Threads pass 1 aims for: a full H200 holds 132 SMs x 2048 = 270k resident threads. */
export const TARGET_THREADS = 1 << 18;
/** Fewest positions a chunk sums: below this the partial buffer costs more than it saves. */
export const MIN_CHUNK = 32;

/** How many chunks the `positions` (batch x out height x out width) are cut into for `filterSize` elements. */
export function chunkCount(filterSize: number, positions: number): number {
  return Math.max(1, Math.min(Math.ceil(TARGET_THREADS / filterSize), Math.ceil(positions / MIN_CHUNK)));
}

const GEOMETRY = 'F : i32, N : i32, chunkLen : i32, Ci : i32, Co : i32, FW : i32, Ho : i32, Wo : i32, H : i32, W : i32, strideH : i32, strideW : i32, padT : i32, padL : i32,';

/** One thread per (chunk, filter element [wR, wC, d1, d2]): the sum of x * dy over the chunk's positions. */
class PartialFilterProgram extends FlatProgram {
  readonly variableNames = ['x', 'dy'];
  readonly uniforms = GEOMETRY;
  readonly shaderKey = 'detkit_conv2d_filter_partial';
  getUserCode(): string {
    return this.body(`
          let u = uniforms;
          let f = index % u.F;
          let start = (index / u.F) * u.chunkLen;
          let end = min(start + u.chunkLen, u.N);
          let d2 = f % u.Co;
          let d1 = (f / u.Co) % u.Ci;
          let wC = (f / (u.Co * u.Ci)) % u.FW;
          let wR = f / (u.Co * u.Ci * u.FW);
          // Output position n = (b, yR, yC), stepped without a division per iteration.
          var yC = start % u.Wo;
          var yR = (start / u.Wo) % u.Ho;
          var b = start / (u.Wo * u.Ho);
          var acc = 0.0;
          for (var n = start; n < end; n = n + 1) {
            let xR = yR * u.strideH - u.padT + wR;
            let xC = yC * u.strideW - u.padL + wC;
            if (xR >= 0 && xR < u.H && xC >= 0 && xC < u.W) {
              acc = acc + x[((b * u.H + xR) * u.W + xC) * u.Ci + d1] * dy[n * u.Co + d2];
            }
            yC = yC + 1;
            if (yC == u.Wo) {
              yC = 0;
              yR = yR + 1;
              if (yR == u.Ho) {
                yR = 0;
                b = b + 1;
              }
            }
          }
          setOutputAtIndex(index, acc);`);
  }
}

/** The filter gradient: the chunks' partial sums added in order. */
class SumChunksProgram extends FlatProgram {
  readonly variableNames = ['partial'];
  readonly uniforms = 'F : i32, chunks : i32,';
  readonly shaderKey = 'detkit_conv2d_filter_sum';
  getUserCode(): string {
    return this.body(`
          var acc = 0.0;
          for (var c = 0; c < uniforms.chunks; c = c + 1) {
            acc = acc + partial[c * uniforms.F + index];
          }
          setOutputAtIndex(index, acc);`);
  }
}

const ints = (...data: number[]): Uniform[] => data.map((d) => ({ type: 'int32', data: [d] }));

interface FilterAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** Wraps the stock kernel: ours for NHWC, the stock one otherwise. */
export function makeConv2DBackpropFilter(stock: KernelFunc): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const attrs = args.attrs as unknown as FilterAttrs;
    if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') return stock(args);
    const backend = args.backend as unknown as WebGpuBackendLike & { disposeData(id: object): void };
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
    const filterShape = [...attrs.filterShape];
    const F = filterShape.reduce((a, b) => a * b, 1);
    const N = info.batchSize * info.outHeight * info.outWidth;
    const chunks = chunkCount(F, N);
    const chunkLen = Math.ceil(N / chunks);
    const geometry = ints(
      F, N, chunkLen, info.inChannels, info.outChannels, info.filterWidth, info.outHeight, info.outWidth,
      info.inHeight, info.inWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
    if (chunks === 1) return backend.runWebGPUProgram(new PartialFilterProgram(filterShape), [x, dy], 'float32', geometry);
    const partial = backend.runWebGPUProgram(new PartialFilterProgram([chunks, F]), [x, dy], 'float32', geometry);
    const out = backend.runWebGPUProgram(new SumChunksProgram(filterShape), [partial], 'float32', ints(F, chunks));
    backend.disposeData(partial.dataId);
    return out;
  }) as unknown as KernelFunc;
}
