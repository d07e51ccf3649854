import type { Logger } from '../registry/types.js';
import { STOP_EXIT_CODES, STOP_SIGNALS, type StopSignal } from '../runner/signals.js';

/**
 * Before training starts (data loading, model building) there is nothing to save: SIGINT or
 * SIGTERM exits at once with 130/143, saying so, instead of dying silently. The runner
 * installs its own graceful handlers once it runs. Returns the function that removes these.
 */
export function exitOnStopSignal(logger: Logger): () => void {
  const handler = (signal: StopSignal) => {
    logger.warn(`${signal} before training started: exiting (nothing to save yet)`);
    process.exit(STOP_EXIT_CODES[signal]);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, handler);
  };
}
