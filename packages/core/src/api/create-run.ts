import { join, resolve } from 'node:path';
import type { Observable } from 'rxjs';
import { readCheckpointMeta } from '../checkpoint/checkpoint.js';
import { buildRun } from '../config/build-run.js';
import { reinterpretation } from '../config/overrides.js';
import type { DetkitConfig } from '../config/schema.js';
import { DetkitError } from '../errors.js';
import { attachWorkers } from '../parallel/attach.js';
import type { Logger } from '../registry/types.js';
import type { RunnerEvent } from '../runner/events.js';
import type { TrainableModel } from '../runner/model.js';
import { Runner, type TrainResult } from '../runner/runner.js';
import { checkResumeConfig, trainingConfig } from '../runner/training-config.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { removeStaleTemps } from '../util/stale-temps.js';
import { openSession, type GlobalOptions, type Session } from '../cli/session.js';
import { applyWorkDirPlan, planWorkDir } from '../cli/work-dir.js';

export interface CreateRunOptions {
  /** `key.path=value` strings, as `--set` takes them. */
  overrides?: readonly string[];
  /** Continue from this checkpoint (`<workDir>/latest.safetensors`). */
  resume?: string;
  /** Resume even if the checkpoint was trained under a different config (the changes are logged). */
  allowConfigChange?: boolean;
  /** Replace a run already in the work dir (its files move to `replaced-<time>/`). */
  force?: boolean;
  /** Where messages go (default: the console, level from DETKIT_LOG_LEVEL). */
  logger?: Logger;
  /** Refuse a config without a `distill` section naming its hook (`detkit distill`). */
  requireDistill?: boolean;
  /** The CLI's dedicated flags (`--seed`, `--backend`, ...). */
  flags?: GlobalOptions;
}

/** A run, built and ready: `await run.train()`, or drive `run.runner` yourself. */
export interface DetkitRun {
  runner: Runner;
  /** Every hook point as a typed event (iterations, evaluations, checkpoints, logs). */
  events$: Observable<RunnerEvent>;
  model: TrainableModel;
  config: DetkitConfig;
  workDir: string;
  /** What the run was built from: the config file, registry, plugins and logger. */
  session: Session;
  /** Trains to `train.maxIters` (or a stop), then ends the data-parallel workers if any. */
  train(): Promise<TrainResult>;
  /** Detaches the events and ends the data-parallel workers (train() does this itself). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Everything `detkit train` does before its first iteration, as one call: config (a file, or an
 * object whose relative paths are relative to the working directory), backend, plugins, model,
 * data and hooks by registry name; the work dir checked (a run already there is refused unless
 * `resume` or `force`), the resolved config saved, data-parallel workers started.
 *
 *   const run = await createRun('detkit.config.ts', { overrides: ['train.maxIters=100'] });
 *   run.events$.subscribe((e) => e.type === 'afterEval' && console.log(e.metrics.AP));
 *   await run.train();
 */
export async function createRun(configOrPath: string | Record<string, unknown>, options: CreateRunOptions = {}): Promise<DetkitRun> {
  const session = await openSession(configOrPath, options.flags ?? {}, { overrides: options.overrides, logger: options.logger });
  const { config, file } = session.loaded;
  if (options.requireDistill && (!config.distill || typeof config.distill.type !== 'string')) {
    throw new DetkitError(
      'CONFIG_INVALID',
      `Invalid config ${file}:\n  distill: \`detkit distill\` needs a distill section naming its hook, e.g. { type: 'kd-detr/distill', ... } (got ${JSON.stringify(config.distill)})`,
      { file },
    );
  }
  const workDir = resolve(config.workDir);
  for (const f of await removeStaleTemps(workDir)) session.logger.info(`removed ${f}: the temp file of a write whose process died`);
  const resumeFrom = options.resume ?? config.train.resumeFrom;
  const plan = await planWorkDir(workDir, { resume: resumeFrom, force: options.force });
  for (const o of session.loaded.overrides) {
    const read = reinterpretation(o);
    if (read !== undefined) session.logger.info(`--set ${o.source}: read as ${read}`);
  }
  // Refused before anything is built or written; the runner logs allowed changes as it resumes.
  if (resumeFrom) checkResumeConfig(resumeFrom, await readCheckpointMeta(resumeFrom), trainingConfig(config), options.allowConfigChange);
  const runOptions = await buildRun(config, session.registry, { resumeFrom: options.resume });
  runOptions.allowConfigChange = options.allowConfigChange;
  const aside = await applyWorkDirPlan(plan);
  if (aside) session.logger.warn(`--force: moved the previous run's files (${plan.replace.join(', ')}) to ${aside}`);
  await saveResolvedConfig(session, runOptions.workDir);
  const workers = await attachWorkers(runOptions, {
    config,
    plugins: session.plugins.map((p) => p.url),
    pluginBaseDir: session.loaded.dir,
    backend: session.run.services.backend,
    logger: session.logger,
  });
  const runner = new Runner(runOptions);
  // Hooks and plugins that subscribed to the run's services see the runner's events.
  const sub = session.run.attachEvents(runner.events$);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    sub.unsubscribe();
    await workers?.close();
  };
  return {
    runner,
    events$: runner.events$,
    model: runOptions.model,
    config,
    workDir: runOptions.workDir,
    session,
    async train() {
      try {
        return await runner.train();
      } finally {
        await close();
      }
    },
    close,
  };
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
