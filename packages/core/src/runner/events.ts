import type { IterInfo, Metrics } from './hook.js';

/**
 * Every hook point also appears as a typed event on `runner.events$` (RxJS). Subscribers
 * (progress bars, loggers, plots, user code) react; nothing in the loop polls.
 */
export type RunnerEvent =
  | { type: 'beforeRun'; iter: number; maxIters: number; epoch: number }
  | { type: 'beforeEpoch'; epoch: number; iter: number }
  | { type: 'beforeIter'; iter: number; epoch: number }
  | { type: 'afterForward'; iter: number; epoch: number }
  | ({ type: 'afterIter' } & IterInfo)
  | { type: 'afterEpoch'; epoch: number; iter: number }
  | { type: 'afterEval'; iter: number; epoch: number; metrics: Metrics }
  | { type: 'afterRun'; iter: number; epoch: number; stopped: boolean; reason?: string }
  | { type: 'checkpoint'; iter: number; path: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export type RunnerEventType = RunnerEvent['type'];
export type EventOf<T extends RunnerEventType> = Extract<RunnerEvent, { type: T }>;
