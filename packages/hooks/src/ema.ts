import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, loadedScalar, type Hook, type IterInfo, type RunState } from '@detkit/core';

export interface EmaConfig {
  /** ema = decay * ema + (1 - decay) * weights, after every `interval` steps. */
  decay: number;
  interval: number;
  /**
   * Ramp the decay up as decay * (1 - exp(-updates / rampIters)) (YOLOX/timm style), so early
   * EMA weights are not dominated by the random init. 0: constant decay.
   */
  rampIters: number;
}

const UPDATES = '__updates';

/**
 * Exponential moving average of the model's float parameters and buffers (integer buffers are
 * copied). Updated in afterIter (priority 20: before evaluation and checkpoint hooks); its
 * weights are what `evaluate()` predicts with (Hook.evalStateDict) and are saved in checkpoints.
 */
export class EmaHook implements Hook {
  readonly name = 'ema';
  private ema: Map<string, tf.Variable> | undefined;
  private updates = 0;
  /** The update count as a tensor for checkpoints; replaced on each save, freed in dispose(). */
  private countTensor: tf.Tensor | undefined;

  constructor(
    readonly config: EmaConfig,
    readonly priority = 20,
  ) {
    if (!(config.decay >= 0 && config.decay < 1)) throw new DetkitError('CONFIG_INVALID', `hook 'ema': decay=${config.decay} must be in [0, 1)`);
  }

  /** The decay used for update number `n` (1-based). */
  decayAt(n: number): number {
    const { decay, rampIters } = this.config;
    return rampIters > 0 ? decay * (1 - Math.exp(-n / rampIters)) : decay;
  }

  beforeRun(state: RunState): void {
    if (!this.ema) this.ema = copyState(state.model.stateDict());
  }

  afterIter(state: RunState, info: IterInfo): void {
    if (info.iter % this.config.interval !== 0) return;
    if (!this.ema) this.ema = copyState(state.model.stateDict());
    this.updates += 1;
    const d = this.decayAt(this.updates);
    const live = state.model.stateDict();
    tf.tidy(() => {
      for (const [name, avg] of this.ema!) {
        const w = live.get(name);
        if (!w) continue;
        avg.assign(avg.dtype === 'float32' ? tf.add(tf.mul(avg, d), tf.mul(w, 1 - d)) : w);
      }
    });
  }

  /** The averaged weights (live variables owned by this hook). */
  get weights(): ReadonlyMap<string, tf.Tensor> | undefined {
    return this.ema;
  }

  get updateCount(): number {
    return this.updates;
  }

  evalStateDict(): Map<string, tf.Tensor> | undefined {
    return this.ema;
  }

  stateTensors(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>(this.ema ?? []);
    this.countTensor?.dispose();
    this.countTensor = tf.scalar(this.updates, 'int32');
    out.set(UPDATES, this.countTensor);
    return out;
  }

  loadStateTensors(tensors: Map<string, tf.Tensor>): void {
    const count = tensors.get(UPDATES);
    const weights = new Map([...tensors].filter(([n]) => n !== UPDATES));
    this.disposeEma();
    this.ema = weights.size > 0 ? copyState(weights) : undefined;
    this.updates = count ? loadedScalar(count) : 0;
  }

  private disposeEma(): void {
    this.ema?.forEach((v) => v.dispose());
    this.ema = undefined;
  }

  dispose(): void {
    this.disposeEma();
    this.countTensor?.dispose();
    this.countTensor = undefined;
  }
}

function copyState(sd: Map<string, tf.Tensor>): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [name, t] of sd) out.set(name, tf.variable(t, false, undefined, t.dtype));
  return out;
}
