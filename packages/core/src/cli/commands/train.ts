import { writeFileAtomic } from '../../util/atomic-write.js';
import { join } from 'node:path';
import { buildRun } from '../../config/build-run.js';
import { DetkitError } from '../../errors.js';
import { attachWorkers } from '../../parallel/attach.js';
import type { RunnerOptions } from '../../runner/options.js';
import type { Observable } from 'rxjs';
import type { RunnerEvent } from '../../runner/events.js';
import { EXIT } from '../exit-codes.js';
import { requireExport } from '../optional.js';
import { openSession, type GlobalOptions, type Session } from '../session.js';

export interface TrainCommandOptions extends GlobalOptions {
  resume?: string;
}

/** What the CLI needs of the Runner (packages/core/src/runner/runner.ts). */
interface RunnerLike {
  readonly events$: Observable<RunnerEvent>;
  train(): Promise<{ iter: number; stopped: boolean; reason?: string }>;
  evaluate(): Promise<Record<string, number>>;
}
type RunnerCtor = new (options: RunnerOptions) => RunnerLike;

export function loadRunner(): Promise<RunnerCtor> {
  return requireExport<RunnerCtor>('../runner/runner.js', 'Runner', 'The training runner (packages/core/src/runner/runner.ts)');
}

/** Writes the resolved config next to the checkpoints, so a run can be reproduced. */
async function saveResolvedConfig(session: Session, workDir: string): Promise<void> {
  const file = join(workDir, 'config.resolved.json');
  await writeFileAtomic(file, JSON.stringify({ source: session.loaded.file, ...session.loaded.config }, null, 2) + '\n');
}

async function hashOf(config: unknown): Promise<string | undefined> {
  try {
    const hashConfig = await requireExport<(c: unknown) => string>('../runner/config-hash.js', 'hashConfig', 'config hashing');
    return hashConfig(config);
  } catch {
    return undefined;
  }
}

/** `detkit train <config>` (and `distill`, which requires a `distill` section). Returns the exit code. */
export async function trainCommand(configPath: string, opts: TrainCommandOptions, mode: 'train' | 'distill' = 'train'): Promise<number> {
  const session = await openSession(configPath, opts);
  const { config, file } = session.loaded;
  if (mode === 'distill' && (!config.distill || typeof config.distill.type !== 'string')) {
    throw new DetkitError(
      'CONFIG_INVALID',
      `Invalid config ${file}:\n  distill: \`detkit distill\` needs a distill section naming its hook, e.g. { type: 'kd-detr/distill', ... } (got ${JSON.stringify(config.distill)})`,
      { file },
    );
  }
  const Runner = await loadRunner();
  const options = await buildRun(config, session.registry, { resumeFrom: opts.resume });
  // The number of workers changes how a run computes, not what: a checkpoint resumes under any.
  options.configHash = await hashOf({ ...config, train: { ...config.train, workers: undefined } });
  await saveResolvedConfig(session, options.workDir);
  const workers = await attachWorkers(options, {
    config,
    plugins: session.plugins.map((p) => p.url),
    pluginBaseDir: session.loaded.dir,
    backend: session.run.services.backend,
    logger: session.logger,
  });
  try {
    const runner = new Runner(options);
    const sub = session.run.attachEvents(runner.events$);
    try {
      const layout = workers ? `, ${config.train.workers} data-parallel workers` : '';
      session.logger.info(`${mode}: ${file} -> ${options.workDir} (${options.maxIters} iterations, backend ${session.run.services.backend}${layout})`);
      const result = await runner.train();
      session.logger.info(`${mode} ${result.stopped ? `stopped at iteration ${result.iter}: ${result.reason ?? ''}` : `finished at iteration ${result.iter}`}`);
      return result.stopped && /SIGINT|interrupt/i.test(result.reason ?? '') ? EXIT.interrupted : EXIT.ok;
    } finally {
      sub.unsubscribe();
    }
  } finally {
    await workers?.close(); // ends the worker threads whatever happened
  }
}
