import type { Logger } from '../registry/types.js';

/**
 * Ctrl-C during training: the first SIGINT asks the run to stop after the current iteration
 * (which then checkpoints); a second one exits at once (code 130, as shells expect).
 * Returns the function that removes the handler.
 */
export function installInterruptHandler(onFirst: () => void, logger: Logger): () => void {
  let count = 0;
  const handler = () => {
    count += 1;
    if (count === 1) {
      logger.warn('SIGINT: stopping after the current iteration and writing latest.safetensors (Ctrl-C again to exit now)');
      onFirst();
    } else {
      logger.error('Second SIGINT: exiting without a checkpoint');
      process.exit(130);
    }
  };
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGINT', handler);
  };
}
