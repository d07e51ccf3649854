import { createRun, type DetkitRun } from '../../api/create-run.js';
import type { RunnerOptions } from '../../runner/options.js';
import type { Observable } from 'rxjs';
import type { RunnerEvent } from '../../runner/events.js';
import { STOP_EXIT_CODES } from '../../runner/signals.js';
import { createConsoleLogger } from '../../util/logger.js';
import { exitOnStopSignal } from '../early-stop.js';
import { EXIT } from '../exit-codes.js';
import { requireExport } from '../optional.js';
import type { GlobalOptions } from '../session.js';

export interface TrainCommandOptions extends GlobalOptions {
  resume?: string;
  /** Resume under a config other than the checkpoint's (the changes are logged). */
  allowConfigChange?: boolean;
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

/** Exit code of a run that ended early: 143 after SIGTERM, 130 after SIGINT, else 0. */
function stoppedExitCode(reason: string | undefined): number {
  if (/SIGTERM/.test(reason ?? '')) return STOP_EXIT_CODES.SIGTERM;
  if (/SIGINT|interrupt/i.test(reason ?? '')) return STOP_EXIT_CODES.SIGINT;
  return EXIT.ok;
}

/** `detkit train <config>` (and `distill`, which requires a `distill` section). Returns the exit code. */
export async function trainCommand(configPath: string, opts: TrainCommandOptions, mode: 'train' | 'distill' = 'train'): Promise<number> {
  const removeEarlyStop = exitOnStopSignal(createConsoleLogger());
  let run: DetkitRun | undefined;
  try {
    run = await createRun(configPath, { flags: opts, resume: opts.resume, allowConfigChange: opts.allowConfigChange, force: opts.force, requireDistill: mode === 'distill' });
    const { runner, config, session } = run;
    // From beforeRun on, the runner's own handlers stop gracefully.
    const handOver = runner.events$.subscribe((e) => e.type === 'beforeRun' && removeEarlyStop());
    try {
      const layout = config.train.workers > 1 ? `, ${config.train.workers} data-parallel workers` : '';
      session.logger.info(`${mode}: ${session.loaded.file} -> ${run.workDir} (${config.train.maxIters} iterations, backend ${session.run.services.backend}${layout})`);
      const result = await run.train();
      session.logger.info(`${mode} ${result.stopped ? `stopped at iteration ${result.iter}: ${result.reason ?? ''}` : `finished at iteration ${result.iter}`}`);
      return result.stopped ? stoppedExitCode(result.reason) : EXIT.ok;
    } finally {
      handOver.unsubscribe();
    }
  } finally {
    await run?.close(); // ends the worker threads whatever happened
    removeEarlyStop();
  }
}
