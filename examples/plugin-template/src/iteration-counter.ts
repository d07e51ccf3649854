import type { Hook, IterInfo, Logger, RunState } from '@detkit/core';

/** A minimal hook: counts the iterations it saw and logs every `every`, then a total at the end. */
export class IterationCounter implements Hook {
  readonly name = 'template/iteration-counter';
  readonly priority = 90; // after the standard hooks
  count = 0;
  private readonly every: number;
  private readonly logger: Logger;

  constructor(opts: { every?: number; logger: Logger }) {
    this.every = opts.every ?? 10;
    this.logger = opts.logger;
  }

  afterIter(_state: RunState, info: IterInfo): void {
    this.count++;
    if (this.count % this.every === 0) {
      this.logger.info(`template: ${this.count} iterations seen (iter ${info.iter}, loss ${info.totalLoss.toFixed(4)})`);
    }
  }

  afterRun(state: RunState): void {
    this.logger.info(`template: run ended at iter ${state.iter} after ${this.count} iterations in this process`);
  }
}
