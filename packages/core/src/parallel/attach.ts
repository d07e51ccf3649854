import { availableParallelism } from 'node:os';
import type { DetkitConfig } from '../config/schema.js';
import { DetkitError } from '../errors.js';
import type { Logger } from '../registry/types.js';
import type { RunnerOptions } from '../runner/options.js';
import { DataParallelGroup } from './group.js';

/** Backends a rank can run in a worker thread: one single-threaded CPU backend per rank. */
export const DATA_PARALLEL_BACKENDS: readonly string[] = ['wasm', 'cpu'];

export interface AttachWorkersContext {
  config: DetkitConfig;
  /** Module URLs of every plugin the run loaded (e.g. `session.plugins.map((p) => p.url)`). */
  plugins: readonly string[];
  pluginBaseDir: string;
  /** The backend this process selected. */
  backend: string;
  logger: Logger;
}

/**
 * `train.workers` > 1: starts the worker threads and sets `options.parallel`, so the Runner
 * trains data-parallel. Returns the group to `close()` when training ends (finally), or
 * undefined for one worker. Warns when there are more ranks than CPU cores.
 */
export async function attachWorkers(options: RunnerOptions, ctx: AttachWorkersContext): Promise<DataParallelGroup | undefined> {
  const workers = ctx.config.train.workers;
  if (!(Number.isInteger(workers) && workers >= 1)) {
    throw new DetkitError('CONFIG_INVALID', `train.workers must be a positive integer, got ${JSON.stringify(workers)}`, { key: 'train.workers' });
  }
  if (workers === 1) return undefined;
  if (!DATA_PARALLEL_BACKENDS.includes(ctx.backend)) {
    throw new DetkitError(
      'CONFIG_INVALID',
      `train.workers=${workers} needs a single-threaded CPU backend per rank (${DATA_PARALLEL_BACKENDS.join(' or ')}); backend '${ctx.backend}' is not one: use train.workers: 1 there`,
      { key: 'train.workers', backend: ctx.backend },
    );
  }
  const cores = availableParallelism();
  if (workers > cores) {
    ctx.logger.warn(`train.workers=${workers} is more than the ${cores} CPU core${cores === 1 ? '' : 's'} here: ranks will share cores and every step waits for the slowest (slower than fewer workers)`);
  }
  const group = await DataParallelGroup.start({
    worldSize: workers,
    config: ctx.config,
    plugins: ctx.plugins,
    pluginBaseDir: ctx.pluginBaseDir,
    backend: ctx.backend,
    model: options.model,
    hooks: options.hooks,
    logger: ctx.logger,
  });
  options.parallel = group;
  return group;
}
