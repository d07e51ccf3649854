import * as tf from '@tensorflow/tfjs-core';
import { NamedOptimizer } from './named-optimizer.js';
import type { ResolvedParam } from './param-groups.js';
import { fusedAdamStep } from '../backend/fused-adam.js';
import { adamInPlace } from '../backend/webgpu/adam-in-place.js';

export interface AdamOptions {
  betas: [number, number];
  eps: number;
  /** true: AdamW, decay applied to the weights (p -= lr*wd*p); false: Adam, L2 added to the gradient. */
  decoupledWeightDecay: boolean;
}

/**
 * Adam / AdamW with PyTorch's update (torch.optim.Adam/AdamW, amsgrad=False):
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * State: `exp_avg/<name>`, `exp_avg_sq/<name>`, `step`. Unlike PyTorch the step count is
 * global, so a parameter that skips steps gets the optimizer's bias correction.
 */
export class Adam extends NamedOptimizer {
  constructor(
    params: ResolvedParam[],
    private readonly opts: AdamOptions,
  ) {
    super(params, ['exp_avg', 'exp_avg_sq']);
  }

  protected update(p: ResolvedParam, grad: tf.Tensor, lr: number, t: number, gradScale: number): tf.Tensor | null {
    const [b1, b2] = this.opts.betas;
    const attrs = { lr, beta1: b1, beta2: b2, eps: this.opts.eps, weightDecay: p.weightDecay, decoupled: this.opts.decoupledWeightDecay, step: t, gradScale };
    // webgpu: one dispatch rewriting parameter and moments in place, where no other tensor shares them.
    if (adamInPlace(p.variable, grad, this.slot('exp_avg', p), this.slot('exp_avg_sq', p), attrs)) return null;
    // One kernel per parameter where the backend has it (wasm, cpu; webgpu: three), ~14 tensor ops otherwise.
    const fused = fusedAdamStep(p.variable, grad, this.slot('exp_avg', p), this.slot('exp_avg_sq', p), attrs);
    if (fused) {
      this.setSlot('exp_avg', p, fused[1]);
      this.setSlot('exp_avg_sq', p, fused[2]);
      return fused[0];
    }
    let w: tf.Tensor = p.variable;
    let g = gradScale === 1 ? grad : tf.mul(grad, gradScale);
    if (p.weightDecay !== 0) {
      if (this.opts.decoupledWeightDecay) w = tf.mul(w, 1 - lr * p.weightDecay);
      else g = tf.add(g, tf.mul(w, p.weightDecay));
    }
    const m = tf.add(tf.mul(this.slot('exp_avg', p), b1), tf.mul(g, 1 - b1));
    const v = tf.add(tf.mul(this.slot('exp_avg_sq', p), b2), tf.mul(tf.square(g), 1 - b2));
    this.setSlot('exp_avg', p, m);
    this.setSlot('exp_avg_sq', p, v);
    const stepSize = lr / (1 - b1 ** t);
    const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(1 - b2 ** t)), this.opts.eps);
    return tf.sub(w, tf.mul(tf.div(m, denom), stepSize));
  }
}
