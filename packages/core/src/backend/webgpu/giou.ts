/**
 * GIoU of matched pairs of cxcywh boxes and its gradient (see ../giou.ts for the formula) as
 * flat WGSL programs, one thread per pair: one dispatch forward, one per input's gradient.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { PairGiouAttrs, PairGiouGradAttrs } from '../giou.js';
import { FlatProgram, f32, type WebGpuBackendLike } from './programs.js';

/** xyxy corners of box k of `t` (cxcywh rows of 4) as vec4(x0, y0, x1, y1), as cx -/+ w * 0.5. */
const CORNERS = (fn: string, t: string) => `
  fn ${fn}(k : i32) -> vec4<f32> {
    let c = vec2<f32>(${t}[k * 4], ${t}[k * 4 + 1]);
    let half = vec2<f32>(${t}[k * 4 + 2], ${t}[k * 4 + 3]) * 0.5;
    return vec4<f32>(c - half, c + half);
  }`;

/** Shared by both programs: corners s (self / a) and o (other / b), then the forward quantities. */
const FORWARD = `
          let areaS = (s.z - s.x) * (s.w - s.y);
          let areaO = (o.z - o.x) * (o.w - o.y);
          let iRaw = min(s.zw, o.zw) - max(s.xy, o.xy);
          let iwh = max(iRaw, vec2<f32>(0.0));
          let inter = iwh.x * iwh.y;
          let uni = areaS + areaO - inter; // the union
          let iou = inter / (uni + uniforms.eps);
          let cRaw = max(s.zw, o.zw) - min(s.xy, o.xy);
          let cwh = max(cRaw, vec2<f32>(0.0));
          let encl = cwh.x * cwh.y;`;

class PairGiouProgram extends FlatProgram {
  readonly variableNames = ['a', 'b'];
  readonly uniforms = 'eps : f32,';
  readonly shaderKey = 'detkit_pair_giou';
  getUserCode(): string {
    return `${CORNERS('cornersA', 'a')}${CORNERS('cornersB', 'b')}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let s = cornersA(index);
          let o = cornersB(index);
          ${FORWARD}
          setOutputAtIndex(index, iou - (encl - uni) / (encl + uniforms.eps));
        }
      }`;
  }
}

/**
 * d(sum giou * dy)/d(boxes) as cxcywh [K,4] (`others` the other input), one thread per pair.
 * `first` says which input `boxes` is, for tfjs's tie-breaking: max/min pass the gradient to their first input on equality.
 */
class PairGiouGradProgram extends FlatProgram {
  readonly variableNames = ['boxes', 'others', 'dy'];
  readonly uniforms = 'eps : f32, first : f32, pairs : i32,';
  readonly shaderKey = 'detkit_pair_giou_grad';
  getUserCode(): string {
    return `${CORNERS('cornersSelf', 'boxes')}${CORNERS('cornersOther', 'others')}
      fn main(index : i32) {
        if (index < uniforms.pairs) { // one thread per pair (the dispatch covers K * 4)
          let s = cornersSelf(index);
          let o = cornersOther(index);
          ${FORWARD}
          let g = dy[index];
          let first = uniforms.first > 0.5;
          // giou = iou - (encl - uni) / (encl + eps)
          let gEncl = -g * (uniforms.eps + uni) / ((encl + uniforms.eps) * (encl + uniforms.eps));
          var gUnion = g / (encl + uniforms.eps);
          // iou = inter / (uni + eps); uni = areaS + areaO - inter
          gUnion = gUnion - g * inter / ((uni + uniforms.eps) * (uni + uniforms.eps));
          let gInter = g / (uni + uniforms.eps) - gUnion;
          let gArea = gUnion;
          // inter = relu(iRaw.x) * relu(iRaw.y); relu passes where its input > 0
          let gIRaw = select(vec2<f32>(0.0), gInter * iwh.yx, iRaw > vec2<f32>(0.0));
          let gCRaw = select(vec2<f32>(0.0), gEncl * cwh.yx, cRaw > vec2<f32>(0.0));
          // iRaw = min(s1, o1) - max(s0, o0); cRaw = max(s1, o1) - min(s0, o0), with tfjs's ties
          let minToSelf = select(s.zw < o.zw, s.zw <= o.zw, first);
          let maxToSelf0 = select(s.xy > o.xy, s.xy >= o.xy, first);
          let maxToSelf1 = select(s.zw > o.zw, s.zw >= o.zw, first);
          let minToSelf0 = select(s.xy < o.xy, s.xy <= o.xy, first);
          let zero = vec2<f32>(0.0);
          var g1 = select(zero, gIRaw, minToSelf) + select(zero, gCRaw, maxToSelf1);
          var g0 = -select(zero, gIRaw, maxToSelf0) - select(zero, gCRaw, minToSelf0);
          // areaS = (s1 - s0).x * (s1 - s0).y
          let side = s.zw - s.xy;
          g1 = g1 + gArea * side.yx;
          g0 = g0 - gArea * side.yx;
          // corners = centre -/+ size * 0.5
          let gCentre = g0 + g1;
          let gSize = (g1 - g0) * 0.5;
          setOutputAtIndex(index * 4, gCentre.x);
          setOutputAtIndex(index * 4 + 1, gCentre.y);
          setOutputAtIndex(index * 4 + 2, gSize.x);
          setOutputAtIndex(index * 4 + 3, gSize.y);
        }
      }`;
  }
}

export const pairGiouWebGpu: KernelFunc = ((args: Parameters<KernelFunc>[0]) => {
  const backend = args.backend as unknown as WebGpuBackendLike;
  const { a, b } = args.inputs as Record<'a' | 'b', TensorInfo>;
  const { eps } = args.attrs as unknown as PairGiouAttrs;
  return backend.runWebGPUProgram(new PairGiouProgram([a.shape[0]!]), [a, b], 'float32', f32(eps));
}) as unknown as KernelFunc;

export const pairGiouGradWebGpu: KernelFunc = ((args: Parameters<KernelFunc>[0]) => {
  const backend = args.backend as unknown as WebGpuBackendLike;
  const { self, other, dy } = args.inputs as Record<'self' | 'other' | 'dy', TensorInfo>;
  const { eps, first } = args.attrs as unknown as PairGiouGradAttrs;
  const pairs = self.shape[0]!;
  const uniforms = [...f32(eps, first ? 1 : 0), { type: 'int32' as const, data: [pairs] }];
  return backend.runWebGPUProgram(new PairGiouGradProgram([pairs, 4]), [self, other, dy], 'float32', uniforms);
}) as unknown as KernelFunc;
