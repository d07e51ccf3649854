import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DetkitError } from '@detkit/core';
import type { ProgressMessage, TrainingResult, TrainRunOptions } from './run-training.js';

export interface TrainingJob {
  name: string;
  /** Config file (JSON) the child trains. */
  configFile: string;
  /** Where the child's console output goes. */
  logFile: string;
  /** Data-parallel ranks of the run (train.workers); the config file's own when absent. */
  workers?: number;
  /** Resumable run: a checkpoint this often, and resume from the newest one found (`TrainRunOptions`). */
  checkpointEvery?: number;
  /** Resume even from a checkpoint trained under another config (`TrainRunOptions`). */
  allowConfigChange?: boolean;
}

/** The child entry next to this file, with the same extension (.ts under tsx, .js when built). */
function childEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return join(dirname(here), `train-child${extname(here)}`);
}

export interface RunJobsOptions {
  /**
   * Let the other runs go on when one fails, and fail at the end naming every failed run
   * (experiments: each finished run is kept on disk and counts). Default: at the first failure,
   * start no new run and stop the running ones with SIGTERM (each writes latest.safetensors,
   * so a rerun resumes it), then fail with that first failure.
   */
  keepGoing?: boolean;
}

/**
 * Runs training jobs in child processes, at most `parallel` at a time (wasm is single-threaded:
 * two runs on two cores halve the wall time; a job with `workers` > 1 uses that many cores). Children inherit this process's loader flags
 * (tsx, --conditions=source). Resolves with every result, in job order; on a failure, see `RunJobsOptions.keepGoing`.
 */
export async function runJobs(jobs: readonly TrainingJob[], parallel: number, onMessage: (m: ProgressMessage) => void, options: RunJobsOptions = {}): Promise<TrainingResult[]> {
  const results: TrainingResult[] = new Array(jobs.length);
  const failures: DetkitError[] = [];
  const live = new Set<ChildProcess>();
  let next = 0;
  const runOne = async (index: number): Promise<void> => {
    const job = jobs[index]!;
    await mkdir(dirname(job.logFile), { recursive: true });
    const log = createWriteStream(job.logFile);
    await new Promise<void>((resolve) => {
      let failure: string | undefined;
      const runOptions: TrainRunOptions = { workers: job.workers, checkpointEvery: job.checkpointEvery, allowConfigChange: job.allowConfigChange };
      const args = [job.configFile, job.name, JSON.stringify(runOptions)];
      const child = fork(childEntry(), args, { execArgv: process.execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
      live.add(child);
      child.stdout?.pipe(log, { end: false });
      child.stderr?.pipe(log, { end: false });
      child.on('message', (m: ProgressMessage) => {
        if (m.type === 'done') results[index] = m.result;
        if (m.type === 'error') failure = m.message;
        onMessage(m);
      });
      child.on('error', (e) => (failure ??= e.message));
      child.on('exit', (code) => {
        live.delete(child);
        log.end();
        if (code !== 0 || !results[index]) {
          failures.push(new DetkitError('IO', `run '${job.name}' failed (exit ${code}): ${failure ?? 'no result'}; see ${job.logFile}`, { log: job.logFile }));
          if (!options.keepGoing) live.forEach((c) => c.kill('SIGTERM'));
        }
        resolve();
      });
    });
  };
  const stopped = () => failures.length > 0 && !options.keepGoing;
  const workers = Array.from({ length: Math.max(1, Math.min(parallel, jobs.length)) }, async () => {
    while (next < jobs.length && !stopped()) await runOne(next++);
  });
  await Promise.all(workers);
  if (failures.length > 0 && !options.keepGoing) throw failures[0]!;
  if (failures.length > 0) {
    throw new DetkitError('IO', `${failures.length} of ${jobs.length} runs failed (the others finished and are kept):\n${failures.map((f) => `  ${f.message}`).join('\n')}`, { failed: failures.length });
  }
  return results;
}
