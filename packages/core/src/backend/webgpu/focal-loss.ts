/**
 * The elementwise sigmoid focal loss and its two gradients (see ../focal-loss.ts for the
 * formulas) as flat WGSL programs: one dispatch each. BCE from logits as max(x, 0) - x t +
 * log(1 + e^-|x|) (WGSL has no log1p: for |x| > 16 the last term, < 1.2e-7, loses its relative
 * precision but not its absolute one); (1 - p_t)^gamma as a product for gamma 1 and 2, pow
 * otherwise.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { FocalLossAttrs } from '../focal-loss.js';
import { FlatProgram, f32, type WebGpuBackendLike } from './programs.js';

type Kind = 'loss' | 'dlogits' | 'dtargets';

/** The shared terms of element `index`: x, t, p, base = 1 - p_t, ce, alphaT, m = base^gamma, dm = d(base^gamma)/d(base). */
const TERMS = `
          let x = logits[index];
          let t = targets[index];
          let p = 1.0 / (1.0 + exp(-x));
          let base = 1.0 - (p * t + (1.0 - p) * (1.0 - t));
          let ce = max(x, 0.0) - x * t + log(1.0 + exp(-abs(x)));
          let useAlpha = uniforms.alpha >= 0.0;
          let alphaT = select(1.0, uniforms.alpha * t + (1.0 - uniforms.alpha) * (1.0 - t), useAlpha);
          var m = 0.0;
          var dm = 0.0;
          if (uniforms.gamma == 2.0) {
            m = base * base;
            dm = 2.0 * base;
          } else if (uniforms.gamma == 1.0) {
            m = base;
            dm = 1.0;
          } else {
            m = pow(base, uniforms.gamma);
            dm = uniforms.gamma * pow(base, uniforms.gamma - 1.0);
          }`;

const RESULT: Record<Kind, string> = {
  loss: 'alphaT * m * ce',
  // d base / dx = -p (1 - p) (2t - 1); d ce / dx = p - t.
  dlogits: 'dy[index] * alphaT * ((p - t) * m - dm * p * (1.0 - p) * (2.0 * t - 1.0) * ce)',
  // d base / dt = 1 - 2p; d ce / dt = -x; d alphaT / dt = 2 alpha - 1 (alpha >= 0).
  dtargets: 'dy[index] * (alphaT * (-x * m + dm * (1.0 - 2.0 * p) * ce) + select(0.0, (2.0 * uniforms.alpha - 1.0) * m * ce, useAlpha))',
};

class FocalLossProgram extends FlatProgram {
  readonly variableNames: string[];
  readonly uniforms = 'alpha : f32, gamma : f32,';
  readonly shaderKey: string;
  constructor(readonly kind: Kind, shape: number[]) {
    super(shape);
    this.variableNames = kind === 'loss' ? ['logits', 'targets'] : ['logits', 'targets', 'dy'];
    this.shaderKey = `detkit_focal_${kind}`;
  }
  getUserCode(): string {
    return this.body(`${TERMS}
          setOutputAtIndex(index, ${RESULT[this.kind]});`);
  }
}

function kernel(kind: Kind): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const backend = args.backend as unknown as WebGpuBackendLike;
    const inputs = args.inputs as Record<string, TensorInfo>;
    const { alpha, gamma } = args.attrs as unknown as FocalLossAttrs;
    const program = new FocalLossProgram(kind, [...inputs['logits']!.shape]);
    return backend.runWebGPUProgram(program, program.variableNames.map((n) => inputs[n]!), 'float32', f32(alpha, gamma));
  }) as unknown as KernelFunc;
}

export const focalLossWebGpu = kernel('loss');
export const focalLossGradLogitsWebGpu = kernel('dlogits');
export const focalLossGradTargetsWebGpu = kernel('dtargets');
