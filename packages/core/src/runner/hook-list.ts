import { DetkitError } from '../errors.js';
import type { Batch } from '../data/types.js';
import type { Hook, IterInfo, Metrics, RunState } from './hook.js';
import { isForwardSteps, runStepsSync, type ForwardSteps } from './forward-steps.js';
import type { ForwardResult, LossTerms } from './model.js';

export const DEFAULT_HOOK_PRIORITY = 50;

/**
 * The run's hooks in call order: lower priority first, ties in the order given (stable).
 * The runner emits each point's event itself; this class only calls hooks.
 */
export class HookList {
  readonly hooks: readonly Hook[];

  constructor(hooks: readonly Hook[]) {
    const seen = new Set<string>();
    for (const h of hooks) {
      if (seen.has(h.name)) {
        throw new DetkitError('INVALID_ARGUMENT', `Two hooks are named '${h.name}': hook names must be unique (checkpoint state is keyed by them)`);
      }
      seen.add(h.name);
    }
    this.hooks = hooks
      .map((hook, index) => ({ hook, index }))
      .sort((a, b) => (a.hook.priority ?? DEFAULT_HOOK_PRIORITY) - (b.hook.priority ?? DEFAULT_HOOK_PRIORITY) || a.index - b.index)
      .map((e) => e.hook);
  }

  async beforeRun(s: RunState): Promise<void> {
    for (const h of this.hooks) await h.beforeRun?.(s);
  }
  async beforeEpoch(s: RunState): Promise<void> {
    for (const h of this.hooks) await h.beforeEpoch?.(s);
  }
  async beforeIter(s: RunState, batch: Batch): Promise<void> {
    for (const h of this.hooks) await h.beforeIter?.(s, batch);
  }
  async afterIter(s: RunState, info: IterInfo): Promise<void> {
    for (const h of this.hooks) await h.afterIter?.(s, info);
  }
  async afterEpoch(s: RunState): Promise<void> {
    for (const h of this.hooks) await h.afterEpoch?.(s);
  }
  async afterEval(s: RunState, metrics: Metrics): Promise<void> {
    for (const h of this.hooks) await h.afterEval?.(s, metrics);
  }
  async afterRun(s: RunState): Promise<void> {
    for (const h of this.hooks) await h.afterRun?.(s);
  }

  /**
   * Runs every afterForward (inside the tape) and merges their terms into the model's.
   * A hook's term `t` is named `<hook name>.<t>`; a name that already exists is an error.
   * Hooks returning ForwardSteps pause the step for their host reads.
   */
  *collectLossSteps(s: RunState, batch: Batch, forward: ForwardResult): ForwardSteps<LossTerms> {
    const all: LossTerms = { ...forward.losses };
    const producer = new Map<string, string>(Object.keys(all).map((k) => [k, 'the model']));
    for (const h of this.hooks) {
      if (!h.afterForward) continue;
      const returned = h.afterForward(s, batch, forward);
      if (returned && typeof (returned as { then?: unknown }).then === 'function') {
        throw new DetkitError('INVALID_ARGUMENT', `Hook '${h.name}': afterForward must not be async (it runs inside the gradient tape); to read tensor values, return ForwardSteps (a generator that yields the tensors)`);
      }
      const terms = isForwardSteps(returned) ? yield* returned : returned;
      if (!terms) continue;
      for (const [term, value] of Object.entries(terms)) {
        const key = `${h.name}.${term}`;
        const first = producer.get(key);
        if (first !== undefined) {
          throw new DetkitError('INVALID_ARGUMENT', `Loss term '${key}' from hook '${h.name}' collides with the same name from ${first}`);
        }
        producer.set(key, `hook '${h.name}'`);
        all[key] = value;
      }
    }
    return all;
  }

  /** collectLossSteps with host reads answered synchronously (backends that can read so). */
  collectLosses(s: RunState, batch: Batch, forward: ForwardResult): LossTerms {
    return runStepsSync(this.collectLossSteps(s, batch, forward));
  }

  /** Weights to evaluate with instead of the live ones (e.g. EMA); at most one hook may offer them. */
  evalWeights(): Map<string, import('@tensorflow/tfjs-core').Tensor> | undefined {
    let found: { name: string; w: Map<string, import('@tensorflow/tfjs-core').Tensor> } | undefined;
    for (const h of this.hooks) {
      const w = h.evalStateDict?.();
      if (!w) continue;
      if (found) throw new DetkitError('INVALID_ARGUMENT', `Hooks '${found.name}' and '${h.name}' both supply evaluation weights`);
      found = { name: h.name, w };
    }
    return found?.w;
  }
}
