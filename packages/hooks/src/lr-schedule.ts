import type { Hook, RunState } from '@detkit/core';
import { HookParams } from './params.js';

/**
 * Learning-rate schedules as pure functions of the iteration index `i` (the 0-based index of
 * the step about to run), so a resumed run gets the same rates. The runner resets the rate to
 * `baseLr` before each iteration's beforeIter hooks; a schedule sets `baseLr * factor` and a
 * separate `warmup` hook (running later, priority 35) multiplies whatever it finds, so
 * `step-lr` / `cosine-lr` / `lr-schedule` compose with `warmup`.
 */

export type LrPolicy = 'constant' | 'step' | 'cosine';

export interface LrScheduleConfig {
  policy: LrPolicy;
  /** Linear warm-up over the first `warmupIters` steps (0: none). */
  warmupIters: number;
  /** Warm-up starts at baseLr * warmupFactor. */
  warmupFactor: number;
  /** `step`: multiply by `gamma` at each milestone (iteration index), like MultiStepLR. */
  milestones: number[];
  gamma: number;
  /** `cosine`: floor of the rate (PyTorch eta_min). */
  minLr: number;
  /** `cosine`: iterations the decay spans; default the run's maxIters. */
  maxIters?: number;
}

/** Linear warm-up multiplier: warmupFactor at i=0 rising to 1 at i=warmupIters (mmcv's 'linear'). */
export function warmupMultiplier(i: number, warmupIters: number, warmupFactor: number): number {
  if (warmupIters <= 0 || i >= warmupIters) return 1;
  return warmupFactor + (1 - warmupFactor) * (i / warmupIters);
}

/** The schedule's rate at step `i`, before warm-up. Cosine decays over [warmupIters, maxIters]. */
export function scheduledLr(i: number, baseLr: number, maxIters: number, c: LrScheduleConfig): number {
  switch (c.policy) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * c.gamma ** c.milestones.filter((m) => i >= m).length;
    case 'cosine': {
      const span = Math.max(1, (c.maxIters ?? maxIters) - c.warmupIters);
      const t = Math.min(1, Math.max(0, i - c.warmupIters) / span);
      return c.minLr + (baseLr - c.minLr) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
  }
}

/** Schedule and warm-up together: the rate the `lr-schedule` hook sets at step `i`. */
export function lrAt(i: number, baseLr: number, maxIters: number, c: LrScheduleConfig): number {
  return scheduledLr(i, baseLr, maxIters, c) * warmupMultiplier(i, c.warmupIters, c.warmupFactor);
}

export const LR_SCHEDULE_PARAMS = ['policy', 'warmupIters', 'warmupFactor', 'milestones', 'gamma', 'minLr', 'maxIters', 'priority'] as const;

export function readLrScheduleConfig(hook: string, params: Record<string, unknown>, defaultPolicy: LrPolicy): LrScheduleConfig {
  const p = new HookParams(hook, params, LR_SCHEDULE_PARAMS);
  return {
    policy: p.oneOf('policy', ['constant', 'step', 'cosine'] as const, defaultPolicy),
    warmupIters: p.number('warmupIters', 0, { min: 0, integer: true }),
    warmupFactor: p.number('warmupFactor', 0.001, { min: 0, max: 1 }),
    milestones: p.milestones('milestones'),
    gamma: p.number('gamma', 0.1, { min: 0 }),
    minLr: p.number('minLr', 0, { min: 0 }),
    maxIters: p.optionalNumber('maxIters', { min: 1, integer: true }),
  };
}

/** `lr-schedule` / `step-lr` / `cosine-lr`: sets the rate before every step. */
export class LrScheduleHook implements Hook {
  readonly priority: number;

  constructor(
    readonly config: LrScheduleConfig,
    readonly name = 'lr-schedule',
    priority = 30,
  ) {
    this.priority = priority;
  }

  beforeIter(state: RunState): void {
    state.setLr(lrAt(state.iter, state.baseLr, state.maxIters, this.config));
  }
}

/** `warmup`: multiplies the rate set so far (base, or a schedule's) by the linear warm-up factor. */
export class WarmupHook implements Hook {
  readonly name = 'warmup';

  constructor(
    readonly warmupIters: number,
    readonly warmupFactor = 0.001,
    readonly priority = 35,
  ) {}

  beforeIter(state: RunState): void {
    state.setLr(state.lr * warmupMultiplier(state.iter, this.warmupIters, this.warmupFactor));
  }
}
