import type { BuildContext, Hook, PluginContext, TypedConfig } from '@detkit/core';
import { CheckpointHook } from './checkpoint-hook.js';
import { EmaHook } from './ema.js';
import { EvalHook } from './eval-hook.js';
import { LoggerHook } from './logger-hook.js';
import { LR_SCHEDULE_PARAMS, LrScheduleHook, readLrScheduleConfig, WarmupHook } from './lr-schedule.js';
import { HookParams } from './params.js';
import { ProgressHook } from './progress-hook.js';

type HookFactory = (params: Record<string, unknown>, ctx: BuildContext) => Hook;

/** Every hook takes an optional `priority` to reorder it relative to others. */
function withPriority(p: HookParams, fallback: number): number {
  return p.number('priority', fallback);
}

export const HOOK_FACTORIES: Record<string, { description: string; build: HookFactory }> = {
  logger: {
    description: 'console line every N iterations (losses, lr, it/s, ETA) + workDir/metrics.jsonl',
    build: (params, ctx) => {
      const p = new HookParams('logger', params, ['interval', 'metricsFile', 'priority']);
      return new LoggerHook(
        { interval: p.number('interval', 20, { min: 1, integer: true }), metricsFile: p.string('metricsFile', 'metrics.jsonl') },
        ctx.services.logger,
        withPriority(p, 80),
      );
    },
  },
  progress: {
    description: 'progress bar (loss, lr, it/s, time left); periodic lines without a TTY or under CI',
    build: (params, ctx) => {
      const p = new HookParams('progress', params, ['mode', 'interval']);
      return new ProgressHook(
        { mode: p.oneOf('mode', ['auto', 'bar', 'lines'] as const, 'auto'), interval: p.number('interval', 50, { min: 1, integer: true }) },
        ctx.services.logger,
        ctx.services.events$,
      );
    },
  },
  checkpoint: {
    description: 'checkpoints every N iterations, keep last K, best by a metric, latest.safetensors at the end',
    build: (params, ctx) => {
      const p = new HookParams('checkpoint', params, ['interval', 'keepLast', 'bestMetric', 'bestMode', 'priority']);
      return new CheckpointHook(
        {
          interval: p.number('interval', 0, { min: 0, integer: true }),
          keepLast: p.number('keepLast', 3, { min: 0, integer: true }),
          bestMetric: p.optionalString('bestMetric'),
          bestMode: p.oneOf('bestMode', ['max', 'min'] as const, 'max'),
        },
        ctx.services.logger,
        withPriority(p, 70),
      );
    },
  },
  eval: {
    description: 'evaluates every N iterations and at the end of the run',
    build: (params) => {
      const p = new HookParams('eval', params, ['interval', 'atEnd', 'onStop', 'priority']);
      return new EvalHook(
        { interval: p.number('interval', 0, { min: 0, integer: true }), atEnd: p.boolean('atEnd', true), onStop: p.boolean('onStop', false) },
        withPriority(p, 60),
      );
    },
  },
  'lr-schedule': {
    description: "learning-rate policy 'constant' | 'step' | 'cosine' with optional linear warm-up",
    build: (params) => lrHook('lr-schedule', params, 'constant'),
  },
  'step-lr': {
    description: 'multiply the learning rate by gamma at each milestone (optional warm-up)',
    build: (params) => lrHook('step-lr', params, 'step'),
  },
  'cosine-lr': {
    description: 'cosine decay of the learning rate to minLr (optional warm-up)',
    build: (params) => lrHook('cosine-lr', params, 'cosine'),
  },
  warmup: {
    description: 'linear warm-up multiplying whatever rate a schedule set (composable)',
    build: (params) => {
      const p = new HookParams('warmup', params, ['warmupIters', 'warmupFactor', 'priority']);
      return new WarmupHook(p.number('warmupIters', 0, { min: 0, integer: true }), p.number('warmupFactor', 0.001, { min: 0, max: 1 }), withPriority(p, 35));
    },
  },
  ema: {
    description: 'exponential moving average of the weights; used for evaluation and saved in checkpoints',
    build: (params) => {
      const p = new HookParams('ema', params, ['decay', 'interval', 'rampIters', 'priority']);
      return new EmaHook(
        {
          decay: p.number('decay', 0.9998, { min: 0, max: 0.999999999 }),
          interval: p.number('interval', 1, { min: 1, integer: true }),
          rampIters: p.number('rampIters', 0, { min: 0 }),
        },
        withPriority(p, 20),
      );
    },
  },
};

function lrHook(name: string, params: Record<string, unknown>, policy: 'constant' | 'step' | 'cosine'): Hook {
  const p = new HookParams(name, params, LR_SCHEDULE_PARAMS);
  const { priority: _ignored, ...rest } = params;
  return new LrScheduleHook(readLrScheduleConfig(name, rest, policy), name, withPriority(p, 30));
}

/** Registers every standard hook under the `hook` kind. */
export function registerHooks(ctx: PluginContext): void {
  for (const [name, { description, build }] of Object.entries(HOOK_FACTORIES)) {
    ctx.register<Hook>('hook', name, build, { description });
  }
}

export interface DefaultHooksOptions {
  logInterval?: number;
  /** 0: only latest.safetensors at the end. */
  checkpointInterval?: number;
  /** Only used when `hasVal`; 0: only at the end. */
  evalInterval?: number;
  hasVal?: boolean;
  /** Metric deciding best.safetensors when evaluating (COCO: 'AP'). */
  bestMetric?: string;
}

/** The hooks a run gets when its config lists none. */
export function defaultHooks(config: DefaultHooksOptions = {}): TypedConfig[] {
  const hooks: TypedConfig[] = [
    { type: 'logger', interval: config.logInterval ?? 20 },
    { type: 'progress' },
    {
      type: 'checkpoint',
      interval: config.checkpointInterval ?? 500,
      keepLast: 3,
      ...(config.hasVal ? { bestMetric: config.bestMetric ?? 'AP' } : {}),
    },
  ];
  if (config.hasVal) hooks.push({ type: 'eval', interval: config.evalInterval ?? 500 });
  return hooks;
}
