import { writeFileAtomic } from '../../util/atomic-write.js';
import { join, resolve } from 'node:path';
import { buildRun } from '../../config/build-run.js';
import { DetkitError } from '../../errors.js';
import { attachWorkers } from '../../parallel/attach.js';
import type { RunnerOptions } from '../../runner/options.js';
import type { Observable } from 'rxjs';
import type { RunnerEvent } from '../../runner/events.js';
import { reinterpretation } from '../../config/overrides.js';
import { STOP_EXIT_CODES } from '../../runner/signals.js';
import { removeStaleTemps } from '../../util/stale-temps.js';
import { exitOnStopSignal } from '../early-stop.js';
import { EXIT } from '../exit-codes.js';
import { requireExport } from '../optional.js';
import { openSession, type GlobalOptions, type Session } from '../session.js';
import { applyWorkDirPlan, planWorkDir } from '../work-dir.js';

export interface TrainCommandOptions extends GlobalOptions {
  resume?: string;
  /** Replace a run already in the work dir (moved aside to `replaced-<time>/`). */
  force?: boolean;
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

/**
 * Writes the resolved config next to the checkpoints, so a run can be reproduced, with the
 * overrides as typed and as read (`train.maxIters=1e3` was read as 1000).
 */
async function saveResolvedConfig(session: Session, workDir: string): Promise<void> {
  const file = join(workDir, 'config.resolved.json');
  const overrides = session.loaded.overrides.map((o) => ({ set: o.source, key: o.path.join('.'), value: o.value }));
  await writeFileAtomic(file, JSON.stringify({ source: session.loaded.file, overrides, ...session.loaded.config }, null, 2) + '\n');
}

/** Exit code of a run that ended early: 143 after SIGTERM, 130 after SIGINT, else 0. */
function stoppedExitCode(reason: string | undefined): number {
  if (/SIGTERM/.test(reason ?? '')) return STOP_EXIT_CODES.SIGTERM;
  if (/SIGINT|interrupt/i.test(reason ?? '')) return STOP_EXIT_CODES.SIGINT;
  return EXIT.ok;
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
  const workDir = resolve(config.workDir);
  for (const f of await removeStaleTemps(workDir)) session.logger.info(`removed ${f}: the temp file of a write whose process died`);
  const plan = await planWorkDir(workDir, { resume: opts.resume ?? config.train.resumeFrom, force: opts.force });
  for (const o of session.loaded.overrides) {
    const read = reinterpretation(o);
    if (read !== undefined) session.logger.info(`--set ${o.source}: read as ${read}`);
  }
  const removeEarlyStop = exitOnStopSignal(session.logger);
  let workers: Awaited<ReturnType<typeof attachWorkers>> | undefined;
  try {
    const Runner = await loadRunner();
    const options = await buildRun(config, session.registry, { resumeFrom: opts.resume });
    // The number of workers changes how a run computes, not what: a checkpoint resumes under any.
    options.configHash = await hashOf({ ...config, train: { ...config.train, workers: undefined } });
    const aside = await applyWorkDirPlan(plan);
    if (aside) session.logger.warn(`--force: moved the previous run's files (${plan.replace.join(', ')}) to ${aside}`);
    await saveResolvedConfig(session, options.workDir);
    workers = await attachWorkers(options, {
      config,
      plugins: session.plugins.map((p) => p.url),
      pluginBaseDir: session.loaded.dir,
      backend: session.run.services.backend,
      logger: session.logger,
    });
    const runner = new Runner(options);
    const sub = session.run.attachEvents(runner.events$);
    // From beforeRun on, the runner's own handlers stop gracefully.
    const handOver = runner.events$.subscribe((e) => e.type === 'beforeRun' && removeEarlyStop());
    try {
      const layout = workers ? `, ${config.train.workers} data-parallel workers` : '';
      session.logger.info(`${mode}: ${file} -> ${options.workDir} (${options.maxIters} iterations, backend ${session.run.services.backend}${layout})`);
      const result = await runner.train();
      session.logger.info(`${mode} ${result.stopped ? `stopped at iteration ${result.iter}: ${result.reason ?? ''}` : `finished at iteration ${result.iter}`}`);
      return result.stopped ? stoppedExitCode(result.reason) : EXIT.ok;
    } finally {
      handOver.unsubscribe();
      sub.unsubscribe();
    }
  } finally {
    await workers?.close(); // ends the worker threads whatever happened
    removeEarlyStop();
  }
}
