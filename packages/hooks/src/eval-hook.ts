import type { Hook, IterInfo, RunState } from '@detkit/core';

export interface EvalHookConfig {
  /** Evaluate every `interval` iterations (0: only at the end). */
  interval: number;
  /** Evaluate at the end of the run (unless it was just evaluated). */
  atEnd: boolean;
  /** Also evaluate at the end of a run that was stopped early (Ctrl-C, requestStop). */
  onStop: boolean;
}

/** Runs RunState.evaluate() periodically and at the end. Priority 60: before checkpointing. */
export class EvalHook implements Hook {
  readonly name = 'eval';
  private lastEvalIter = -1;

  constructor(
    readonly config: EvalHookConfig,
    readonly priority = 60,
  ) {}

  async afterIter(state: RunState, info: IterInfo): Promise<void> {
    if (this.config.interval > 0 && info.iter % this.config.interval === 0) {
      await state.evaluate();
      this.lastEvalIter = info.iter;
    }
  }

  async afterRun(state: RunState): Promise<void> {
    if (!this.config.atEnd || this.lastEvalIter === state.iter) return;
    if (state.stopRequested && !this.config.onStop) return;
    await state.evaluate();
    this.lastEvalIter = state.iter;
  }
}
