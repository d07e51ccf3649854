/**
 * Multi-scale deformable attention (`DetkitMsDeformAttn` and `DetkitMsDeformAttnGrad`, see
 * ../ms-deform-attn/) as WGSL programs for tfjs's WebGPU backend. The arithmetic is that of
 * ../ms-deform-attn/loops.ts (and of the reference CUDA kernel): grid_sample with
 * align_corners=False and zero padding; a sample whose pixel position is not inside
 * (-1, h) x (-1, w) contributes nothing. WGSL has no float64, so corner weights and sums are
 * float32 here (as in the CUDA kernel; the wasm/cpu loops keep them in float64): results agree
 * with the loops to float32 rounding (~1e-6 relative at the sizes tested).
 *
 * Forward: one program, one thread per output element (b, q, h, d), looping over levels and
 * points. Adjacent threads are adjacent channels d, so each corner row is read coalesced.
 *
 * Gradient: four programs.
 *  - dValue: a zero fill, then a scatter, one thread per (sample, d) adding
 *    weight * corner weight * dOut into the (up to) four corner rows with a float add built
 *    from a compare-exchange loop on atomic<i32> (WGSL has no float atomics; tfjs's own
 *    ScatterNd does the same). Why not a gather without atomics (one thread per dValue
 *    element, summing the samples that hit it)? No sample->token index exists, so each thread
 *    would scan every sample of its (b, h, level): S * H * Dh threads visiting Q * P samples
 *    each, against the scatter's Q * H * L * P * Dh threads adding into 4 corners: S / (4 L)
 *    times the work (~60x at S = 1000 tokens over L = 4 levels, over 1000x at COCO image
 *    sizes), growing with the image. Building that index (count, prefix sum, bucket) costs
 *    three or more extra dispatches, one of them atomic itself, and a DETR training step on a
 *    GPU was measured bound by the number of dispatches (~0.09 ms each on an H200), not FLOPs.
 *    Contention stays low: threads of one sample write distinct channels of a row, and only
 *    samples sharing a corner pixel retry. The price: the order of the float adds varies run
 *    to run, so dValue is reproducible to float32 rounding, not bit for bit.
 *  - dLocations and dWeights: one thread per sample (b, q, h, l, p), each computing the four
 *    corner dot products <dOut[b,q,h,:], value[corner,h,:]> over Dh and writing its own
 *    entries (no conflicts). tfjs binds one output per program, so the two programs each
 *    compute the dots (4 * Dh multiply-adds per sample) rather than a third dispatch splitting
 *    a packed [.., 3] output.
 *
 * The level grid (h, w, first token) goes in as uniforms, so one pipeline serves every image
 * size with the same number of levels; the other sizes come from the tensors' shapes.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { MsDeformAttnAttrs } from '../ms-deform-attn/kernels.js';

interface WebGpuBackendLike {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: 'float32', uniforms?: Uniform[], output?: TensorInfo): TensorInfo;
}
type Uniform = { type: 'int32'; data: number[] };

const WORKGROUP = 64;

/**
 * Shared WGSL: the sizes (from the auto-generated shape uniforms) and the bilinear corners of
 * one sample. `rowBase` is the offset of the level's first token for this (b, h) (plus d where
 * a thread owns one channel); a corner offset of -1 marks zero padding.
 */
const GEOMETRY = `
  struct Corners {
    ok : bool,
    off : vec4<i32>,
    w : vec4<f32>,
    frac : vec2<f32>,
  };

  fn sampleCorners(locX : f32, locY : f32, level : vec4<i32>, rowBase : i32, rowStride : i32) -> Corners {
    var c : Corners;
    c.off = vec4<i32>(-1);
    c.w = vec4<f32>(0.0);
    c.frac = vec2<f32>(0.0);
    let hl = level.x;
    let wl = level.y;
    let x = locX * f32(wl) - 0.5;
    let y = locY * f32(hl) - 0.5;
    c.ok = y > -1.0 && x > -1.0 && y < f32(hl) && x < f32(wl);
    if (!c.ok) {
      return c;
    }
    let xf = floor(x);
    let yf = floor(y);
    let x0 = i32(xf);
    let y0 = i32(yf);
    let fx = x - xf;
    let fy = y - yf;
    let gx = 1.0 - fx;
    let gy = 1.0 - fy;
    let inY0 = y0 >= 0;
    let inY1 = y0 + 1 <= hl - 1;
    let inX0 = x0 >= 0;
    let inX1 = x0 + 1 <= wl - 1;
    // Corner k: (y0,x0), (y0,x1), (y1,x0), (y1,x1).
    let o00 = rowBase + (y0 * wl + x0) * rowStride;
    c.off = vec4<i32>(
      select(-1, o00, inY0 && inX0),
      select(-1, o00 + rowStride, inY0 && inX1),
      select(-1, o00 + wl * rowStride, inY1 && inX0),
      select(-1, o00 + (wl + 1) * rowStride, inY1 && inX1));
    c.w = vec4<f32>(gy * gx, gy * fx, fy * gx, fy * fx);
    c.frac = vec2<f32>(fx, fy);
    return c;
  }
`;

/** [B, S, H, Dh] and [B, Q, H, L, P] as WGSL lets, from the value and weights shape uniforms. */
const SIZES = (valueShape: string) => `
    let S = ${valueShape}.y;
    let H = ${valueShape}.z;
    let D = ${valueShape}.w;
    let Q = uniforms.attnShape.y;
    let L = uniforms.attnShape.w;
    let P = uniforms.attnShape.u;
    let rowStride = H * D;`;

/** What tfjs-backend-webgpu reads from a program; flat dispatch of `threads` threads. */
abstract class MsdaProgram {
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly uniforms: string;
  abstract readonly variableNames: string[];
  readonly shaderKey: string;

  constructor(readonly outputShape: number[], threads: number, levels: number, name: string, extraUniforms = '') {
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    // tfjs reshapes a dispatch past maxComputeWorkgroupsPerDimension into 2-D/3-D, and its
    // getGlobalIndex() follows: `index` stays the flat thread number.
    this.dispatch = [Math.ceil(threads / WORKGROUP), 1, 1];
    this.uniforms = `${extraUniforms}levels : array<vec4<i32>, ${levels}>,`;
    // The uniform array's length is in the code: one pipeline per level count.
    this.shaderKey = `detkit_ms_deform_attn_${name}_L${levels}`;
  }
}

/** out[b,q,h*Dh+d] = sum_{l,p} weight * bilinear(value[b, level l, h, d], location). */
class ForwardProgram extends MsdaProgram {
  readonly variableNames = ['valueIn', 'locs', 'attn'];
  readonly size = true;
  constructor(outputShape: number[], levels: number) {
    super(outputShape, outputShape.reduce((a, b) => a * b, 1), levels, 'forward');
  }
  getUserCode(): string {
    return `${GEOMETRY}
      fn main(index : i32) {
        if (index >= uniforms.size) {
          return;
        }
        ${SIZES('uniforms.valueInShape')}
        let d = index % D;
        let bqh = index / D;
        let b = bqh / (Q * H);
        let h = bqh % H;
        var acc = 0.0;
        for (var l = 0; l < L; l = l + 1) {
          let level = uniforms.levels[l];
          let rowBase = (b * S + level.z) * rowStride + h * D + d;
          for (var p = 0; p < P; p = p + 1) {
            let i = (bqh * L + l) * P + p;
            let c = sampleCorners(locs[2 * i], locs[2 * i + 1], level, rowBase, rowStride);
            if (!c.ok) {
              continue;
            }
            let a = attn[i];
            for (var k = 0; k < 4; k = k + 1) {
              let o = c.off[k];
              if (o >= 0) {
                acc = acc + a * c.w[k] * valueIn[o];
              }
            }
          }
        }
        setOutputAtIndex(index, acc);
      }`;
  }
}

/** Writes zeros: the start of the dValue accumulation (a pooled buffer holds old data). */
class ZeroProgram {
  readonly variableNames: string[] = [];
  readonly size = true;
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly shaderKey = 'detkit_ms_deform_attn_zero';
  constructor(readonly outputShape: number[]) {
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(outputShape.reduce((a, b) => a * b, 1) / WORKGROUP), 1, 1];
  }
  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, 0.0);
        }
      }`;
  }
}

/**
 * dValue[b, corner, h, d] += weight * cornerWeight * dOut[b,q,h*Dh+d], one thread per
 * (sample, d), into the zero-filled output bound as atomic<i32> (see the file comment).
 */
class ValueGradProgram extends MsdaProgram {
  readonly variableNames = ['locs', 'attn', 'dOut'];
  readonly atomic = true;
  constructor(valueShape: number[], threads: number, levels: number) {
    super(valueShape, threads, levels, 'dvalue', 'threads : i32, ');
  }
  getUserCode(): string {
    return `${GEOMETRY}
      // result[at] += v as float32, by compare-exchange on its bits (tfjs's atomicAddSnippet).
      fn atomicAddF32(at : i32, v : f32) {
        var old = atomicLoad(&result[at]);
        loop {
          let res = atomicCompareExchangeWeak(&result[at], old, bitcast<i32>(bitcast<f32>(old) + v));
          if (res.exchanged) {
            break;
          }
          old = res.old_value;
        }
      }

      fn main(index : i32) {
        if (index >= uniforms.threads) {
          return;
        }
        ${SIZES('uniforms.outShape')}
        let d = index % D;
        let i = index / D;
        let l = (i / P) % L;
        let bqh = i / (L * P);
        let b = bqh / (Q * H);
        let h = bqh % H;
        let level = uniforms.levels[l];
        let rowBase = (b * S + level.z) * rowStride + h * D + d;
        let c = sampleCorners(locs[2 * i], locs[2 * i + 1], level, rowBase, rowStride);
        if (!c.ok) {
          return;
        }
        let a = attn[i];
        let gd = dOut[bqh * D + d];
        for (var k = 0; k < 4; k = k + 1) {
          let o = c.off[k];
          let add = a * c.w[k] * gd;
          // Adding zero changes nothing: skip the atomic (zero weights, zero upstream gradient).
          if (o >= 0 && add != 0.0) {
            atomicAddF32(o, add);
          }
        }
      }`;
  }
}

/**
 * Per sample i: (dWeight, dLocX, dLocY) from the four corner dot products
 * <dOut[b,q,h,:], value[corner,h,:]> (as msDeformAttnBackward).
 */
const SAMPLE_GRAD = `
  fn sampleGrad(i : i32) -> vec3<f32> {
    ${SIZES('uniforms.valueInShape')}
    let l = (i / P) % L;
    let bqh = i / (L * P);
    let b = bqh / (Q * H);
    let h = bqh % H;
    let level = uniforms.levels[l];
    let c = sampleCorners(locs[2 * i], locs[2 * i + 1], level, (b * S + level.z) * rowStride + h * D, rowStride);
    if (!c.ok) {
      return vec3<f32>(0.0);
    }
    // Padding corners read row 0 (a valid address) and count as zero.
    let valid = c.off >= vec4<i32>(0);
    let at = max(c.off, vec4<i32>(0));
    let g0 = bqh * D;
    var dots = vec4<f32>(0.0);
    for (var d = 0; d < D; d = d + 1) {
      let v = vec4<f32>(valueIn[at.x + d], valueIn[at.y + d], valueIn[at.z + d], valueIn[at.w + d]);
      dots = dots + dOut[g0 + d] * select(vec4<f32>(0.0), v, valid);
    }
    let fx = c.frac.x;
    let fy = c.frac.y;
    let gx = 1.0 - fx;
    let gy = 1.0 - fy;
    let dA = dot(c.w, dots);
    // d(corner weight)/dx and /dy, corner order as in sampleCorners.
    let dx = dot(vec4<f32>(-gy, gy, -fy, fy), dots);
    let dy = dot(vec4<f32>(-gx, -fx, gx, fx), dots);
    let a = attn[i];
    // x = locX * w - 0.5: the chain rule multiplies by the level's width (height for y).
    return vec3<f32>(dA, a * dx * f32(level.y), a * dy * f32(level.x));
  }
`;

/** dLocations [B,Q,H,L,P,2]: one thread per sample writes its (x, y) pair. */
class LocationsGradProgram extends MsdaProgram {
  readonly variableNames = ['valueIn', 'locs', 'attn', 'dOut'];
  constructor(locationsShape: number[], samples: number, levels: number) {
    super(locationsShape, samples, levels, 'dlocations', 'samples : i32, ');
  }
  getUserCode(): string {
    return `${GEOMETRY}${SAMPLE_GRAD}
      fn main(index : i32) {
        if (index < uniforms.samples) {
          let g = sampleGrad(index);
          setOutputAtIndex(2 * index, g.y);
          setOutputAtIndex(2 * index + 1, g.z);
        }
      }`;
  }
}

/** dWeights [B,Q,H,L,P]: one thread per sample. */
class WeightsGradProgram extends MsdaProgram {
  readonly variableNames = ['valueIn', 'locs', 'attn', 'dOut'];
  readonly size = true;
  constructor(weightsShape: number[], levels: number) {
    super(weightsShape, weightsShape.reduce((a, b) => a * b, 1), levels, 'dweights');
  }
  getUserCode(): string {
    return `${GEOMETRY}${SAMPLE_GRAD}
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, sampleGrad(index).x);
        }
      }`;
  }
}

/** The level table as uniforms: (h, w, first token, 0) per level (a vec4<i32> each: array stride 16). */
function levelUniforms(attrs: MsDeformAttnAttrs): { count: number; uniforms: Uniform[] } {
  const count = attrs.levelStarts.length;
  const uniforms: Uniform[] = attrs.levelStarts.map((start, l) => ({ type: 'int32', data: [attrs.spatialShapes[2 * l]!, attrs.spatialShapes[2 * l + 1]!, start, 0] }));
  if (count === 0) uniforms.push({ type: 'int32', data: [0, 0, 0, 0] }); // WGSL has no zero-length array
  return { count: Math.max(1, count), uniforms };
}

type Inputs = Record<'value' | 'locations' | 'weights', TensorInfo> & { dy?: TensorInfo };

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export const msDeformAttnWebGpu: KernelFunc = ((args: Parameters<KernelFunc>[0]) => {
  const backend = args.backend as unknown as WebGpuBackendLike;
  const { value, locations, weights } = args.inputs as Inputs;
  const levels = levelUniforms(args.attrs as unknown as MsDeformAttnAttrs);
  const [B, , H, D] = value.shape as [number, number, number, number];
  const Q = weights.shape[1]!;
  return backend.runWebGPUProgram(new ForwardProgram([B, Q, H * D], levels.count), [value, locations, weights], 'float32', levels.uniforms);
}) as unknown as KernelFunc;

export const msDeformAttnGradWebGpu: KernelFunc = ((args: Parameters<KernelFunc>[0]) => {
  const backend = args.backend as unknown as WebGpuBackendLike;
  const { value, locations, weights, dy } = args.inputs as Required<Inputs>;
  const levels = levelUniforms(args.attrs as unknown as MsDeformAttnAttrs);
  const D = value.shape[3]!;
  const samples = size(weights.shape);
  const int = (n: number): Uniform => ({ type: 'int32', data: [n] });
  const zeros = backend.runWebGPUProgram(new ZeroProgram([...value.shape]), [], 'float32');
  // The scatter writes into `zeros` (its output buffer) and returns it.
  const dValue = backend.runWebGPUProgram(
    new ValueGradProgram([...value.shape], samples * D, levels.count), [locations, weights, dy], 'float32', [int(samples * D), ...levels.uniforms], zeros,
  );
  const dLocations = backend.runWebGPUProgram(
    new LocationsGradProgram([...locations.shape], samples, levels.count), [value, locations, weights, dy], 'float32', [int(samples), ...levels.uniforms],
  );
  const dWeights = backend.runWebGPUProgram(new WeightsGradProgram([...weights.shape], levels.count), [value, locations, weights, dy], 'float32', levels.uniforms);
  return [dValue, dLocations, dWeights];
}) as unknown as KernelFunc;
