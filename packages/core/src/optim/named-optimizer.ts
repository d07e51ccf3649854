import * as tf from '@tensorflow/tfjs-core';
import { loadedScalar } from '../checkpoint/loaded-scalar.js';
import { DetkitError } from '../errors.js';
import type { Optimizer } from './optimizer.js';
import type { ResolvedParam } from './param-groups.js';

/**
 * Shared machinery for optimizers whose state is keyed by parameter name: slots
 * (`<slot>/<param name>`, created lazily as zeros), a global `step` counter, the tidy update
 * loop and an all-or-nothing `loadStateDict`.
 */
export abstract class NamedOptimizer implements Optimizer {
  protected readonly params: ResolvedParam[];
  private readonly byName = new Map<string, ResolvedParam>();
  private readonly slots = new Map<string, tf.Variable>();
  private readonly stepVar = tf.variable(tf.scalar(0, 'int32'), false);
  private steps = 0;

  constructor(
    params: ResolvedParam[],
    /** Slot kinds this optimizer keeps per parameter, e.g. ['exp_avg', 'exp_avg_sq']. */
    private readonly slotKinds: string[],
  ) {
    this.params = params;
    for (const p of params) this.byName.set(p.name, p);
  }

  /** Steps taken so far (the bias-correction count for Adam). */
  get stepCount(): number {
    return this.steps;
  }

  /**
   * Computes the new value of one parameter (and assigns its slots via `setSlot`). Runs
   * inside tf.tidy; `t` is the 1-based step number, `lr` already includes the group's lrMult;
   * the gradient counts as `grad * gradScale` (scaled as a float32 tensor op would). Null: the
   * parameter was updated in place (a backend kernel rewrote its buffer and its slots').
   */
  protected abstract update(p: ResolvedParam, grad: tf.Tensor, lr: number, t: number, gradScale: number): tf.Tensor | null;

  step(grads: Map<string, tf.Tensor>, lr: number, gradScale = 1): void {
    // Validate everything first so a bad call never leaves a half-applied step.
    for (const [name, g] of grads) {
      const p = this.byName.get(name);
      if (!p) throw new DetkitError('INVALID_ARGUMENT', `optimizer.step: gradient for unknown parameter '${name}'`);
      if (!tf.util.arraysEqual(g.shape, p.variable.shape)) {
        throw new DetkitError('INVALID_ARGUMENT', `optimizer.step: gradient for '${name}' has shape [${g.shape}], parameter is [${p.variable.shape}]`);
      }
    }
    this.steps += 1;
    const t = this.steps;
    tf.tidy(() => {
      this.stepVar.assign(tf.scalar(t, 'int32'));
      for (const p of this.params) {
        const g = grads.get(p.name);
        if (!g) continue; // no gradient this step (unused or frozen): leave untouched, like PyTorch
        const next = this.update(p, g, lr * p.lrMult, t, gradScale);
        if (next) p.variable.assign(next);
      }
    });
  }

  /** The slot tensor (zeros on first use); live variable, do not dispose. */
  protected slot(kind: string, p: ResolvedParam): tf.Variable {
    const key = `${kind}/${p.name}`;
    let v = this.slots.get(key);
    if (!v) {
      v = tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false));
      this.slots.set(key, v);
    }
    return v;
  }

  protected hasSlot(kind: string, p: ResolvedParam): boolean {
    return this.slots.has(`${kind}/${p.name}`);
  }

  protected setSlot(kind: string, p: ResolvedParam, value: tf.Tensor): void {
    this.slot(kind, p).assign(value);
  }

  stateDict(): Map<string, tf.Tensor> {
    const sd = new Map<string, tf.Tensor>([['step', this.stepVar]]);
    for (const [k, v] of this.slots) sd.set(k, v);
    return sd;
  }

  /**
   * Copies optimizer state in. Slots of parameters this optimizer does not hold are ignored
   * (the frozen set may have changed); anything else malformed throws CHECKPOINT_MISMATCH
   * before any state changes.
   */
  loadStateDict(state: Map<string, tf.Tensor>): void {
    const step = state.get('step');
    if (!step || step.size !== 1) throw new DetkitError('CHECKPOINT_MISMATCH', `optimizer state has no scalar 'step'`);
    const steps = loadedScalar(step);
    if (!(Number.isInteger(steps) && steps >= 0)) throw new DetkitError('CHECKPOINT_MISMATCH', `optimizer state 'step' is ${steps}, not a count`);
    const plan: Array<[ResolvedParam, string, tf.Tensor]> = [];
    for (const [key, t] of state) {
      if (key === 'step') continue;
      const slash = key.indexOf('/');
      const kind = key.slice(0, slash);
      if (slash <= 0 || !this.slotKinds.includes(kind)) {
        throw new DetkitError('CHECKPOINT_MISMATCH', `optimizer state key '${key}' is not one of ${this.slotKinds.map((k) => `${k}/<param>`).join(', ')}`);
      }
      const p = this.byName.get(key.slice(slash + 1));
      if (!p) continue;
      if (!tf.util.arraysEqual(t.shape, p.variable.shape)) {
        throw new DetkitError('CHECKPOINT_MISMATCH', `optimizer state '${key}' has shape [${t.shape}], parameter is [${p.variable.shape}]`);
      }
      if (t.dtype !== 'float32') throw new DetkitError('CHECKPOINT_MISMATCH', `optimizer state '${key}' is ${t.dtype}, expected float32`);
      plan.push([p, kind, t]);
    }
    this.disposeSlots();
    this.steps = steps;
    tf.tidy(() => {
      this.stepVar.assign(tf.scalar(steps, 'int32'));
      for (const [p, kind, t] of plan) this.setSlot(kind, p, tf.cast(t, 'float32'));
    });
  }

  private disposeSlots(): void {
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }

  dispose(): void {
    this.disposeSlots();
    this.stepVar.dispose();
  }
}
