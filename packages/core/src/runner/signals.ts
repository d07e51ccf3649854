import type { Logger } from '../registry/types.js';

/** The signals that stop training gracefully: Ctrl-C, and `kill`, `timeout` and job schedulers. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** Exit status after a stop by each signal: 128 + its number, as shells report a signal death. */
export const STOP_EXIT_CODES: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * A repeat this soon after the first signal is the same stop delivered twice, not a second
 * request: `npx` forwards SIGINT/SIGTERM to its child, which the terminal or `timeout` has
 * already signalled through the process group.
 */
const DUPLICATE_MS = 1000;

/**
 * SIGINT (Ctrl-C) or SIGTERM during training: the first asks the run to stop after the current
 * iteration (which then checkpoints); a second one, later than DUPLICATE_MS, exits at once
 * with 130 (SIGINT) or 143 (SIGTERM). Returns the function that removes the handlers.
 */
export function installInterruptHandler(onFirst: (signal: StopSignal) => void, logger: Logger): () => void {
  let firstAt: number | undefined;
  const handler = (signal: StopSignal) => {
    if (firstAt === undefined) {
      firstAt = Date.now();
      const again = signal === 'SIGINT' ? 'Ctrl-C again' : 'send it again';
      logger.warn(`${signal}: stopping after the current iteration and writing latest.safetensors (${again} to exit now)`);
      onFirst(signal);
    } else if (Date.now() - firstAt >= DUPLICATE_MS) {
      logger.error(`Second ${signal}: exiting without a checkpoint`);
      process.exit(STOP_EXIT_CODES[signal]);
    }
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, handler);
  };
}
