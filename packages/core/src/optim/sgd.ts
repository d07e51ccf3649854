import * as tf from '@tensorflow/tfjs-core';
import { NamedOptimizer } from './named-optimizer.js';
import type { ResolvedParam } from './param-groups.js';

/**
 * SGD with optional momentum, PyTorch semantics (dampening 0, no Nesterov):
 *   g += wd p;  buf = g on the first step, else mu buf + g;  p -= lr buf.
 * State: `momentum_buffer/<name>` (only when momentum > 0), `step`.
 */
export class SGD extends NamedOptimizer {
  constructor(
    params: ResolvedParam[],
    private readonly momentum: number,
  ) {
    super(params, ['momentum_buffer']);
  }

  protected update(p: ResolvedParam, grad: tf.Tensor, lr: number, _t: number, gradScale: number): tf.Tensor {
    let g = gradScale === 1 ? grad : tf.mul(grad, gradScale);
    if (p.weightDecay !== 0) g = tf.add(g, tf.mul(p.variable, p.weightDecay));
    if (this.momentum !== 0) {
      const hadState = this.hasSlot('momentum_buffer', p);
      const buf = hadState ? tf.add(tf.mul(this.slot('momentum_buffer', p), this.momentum), g) : g;
      this.setSlot('momentum_buffer', p, buf);
      g = buf;
    }
    return tf.sub(p.variable, tf.mul(g, lr));
  }
}
