import { dirname, join } from 'node:path';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { newestCheckpoint } from './newest-checkpoint.js';
import {
  attachWorkers,
  buildRun,
  DetkitError,
  createConsoleLogger,
  createRegistry,
  createRng,
  createServices,
  loadBuiltinPlugins,
  loadConfig,
  loadPlugins,
  Runner,
  selectBackend,
  type DetkitConfig,
  type Logger,
  type LoadedPlugin,
  type Metrics,
} from '@detkit/core';

export interface TrainRunOptions {
  /** Data-parallel ranks (train.workers); the config's own when absent. */
  workers?: number;
  /**
   * Make the run resumable: a checkpoint every this many iterations in its work dir (added to
   * the config's hooks when it lists its own without one), and a run whose work dir already
   * holds a checkpoint resumes from the newest. Not part of the run's config: resuming is
   * bit-identical to running through, so a resumed run is the same experiment.
   */
  checkpointEvery?: number;
  /**
   * Resume even from a checkpoint trained under another config (the changed keys are logged):
   * a branch, e.g. the rate dropped from a constant-rate run's checkpoint at the milestone.
   */
  allowConfigChange?: boolean;
}

/** What a training child reports to its parent (over IPC) while it runs. */
export type ProgressMessage =
  | { type: 'start'; name: string; maxIters: number; backend: string }
  | { type: 'iter'; name: string; iter: number; loss: number; kd: number; stepMs: number }
  | { type: 'eval'; name: string; iter: number; metrics: Metrics }
  | { type: 'done'; name: string; result: TrainingResult }
  | { type: 'error'; name: string; message: string };

export interface TrainingResult {
  name: string;
  iters: number;
  /** Validation metrics at each evaluation, in order. */
  history: Array<{ iter: number; metrics: Metrics }>;
  final: Metrics;
  /** Median wall time of a training step (ms). */
  msPerIter: number;
  wallSeconds: number;
  workDir: string;
}

/**
 * Trains one config file exactly like `detkit train` (builtin plugins + the config's own,
 * buildRun, Runner, data-parallel workers when `workers` or the config's train.workers > 1),
 * reporting progress through `report`, and writes `result.json` in the run's work dir. A run
 * stopped before its last iteration (Ctrl-C, SIGTERM: the runner writes latest.safetensors) writes
 * no result.json, which would mark it finished for the experiments, and fails with INTERRUPTED.
 */
export async function trainConfigFile(
  file: string,
  name: string,
  report: (m: ProgressMessage) => void,
  logger: Logger = createConsoleLogger(),
  options: TrainRunOptions = {},
): Promise<TrainingResult> {
  const t0 = performance.now();
  const base = options.workers !== undefined ? [`train.workers=${options.workers}`] : [];
  const first = await loadConfig(file, { overrides: base });
  const resilience = await resumableOverrides(first.config, options.checkpointEvery);
  const { config } = resilience.overrides.length ? await loadConfig(file, { overrides: [...base, ...resilience.overrides] }) : first;
  if (resilience.resumeFrom) logger.info(`${name}: resuming from ${resilience.resumeFrom}`);
  const backend = await selectBackend({ backend: config.backend, logger });
  const services = createServices({ logger, rng: createRng(config.seed), backend: backend.name });
  const registry = createRegistry(services.services);
  const loaded: LoadedPlugin[] = [];
  await loadBuiltinPlugins(registry, { baseDir: process.cwd(), loaded });
  await loadPlugins(registry, config.plugins, { baseDir: dirname(file), loaded });
  const run = await buildRun(config, registry);
  run.allowConfigChange = options.allowConfigChange;
  const workers = await attachWorkers(run, { config, plugins: loaded.map((p) => p.url), pluginBaseDir: dirname(file), backend: backend.name, logger });
  const runner = new Runner(run);
  const sub = services.attachEvents(runner.events$);
  const history: TrainingResult['history'] = [];
  const steps: number[] = [];
  report({ type: 'start', name, maxIters: run.maxIters, backend: workers ? `${backend.name}, ${config.train.workers} data-parallel workers` : backend.name });
  const events = runner.events$.subscribe((e) => {
    if (e.type === 'afterIter') {
      steps.push(e.stepMs);
      const kd = Object.entries(e.losses).reduce((s, [k, v]) => (k.startsWith('kd-detr.') ? s + v : s), 0);
      report({ type: 'iter', name, iter: e.iter, loss: e.totalLoss, kd, stepMs: e.stepMs });
    } else if (e.type === 'afterEval') {
      history.push({ iter: e.iter, metrics: e.metrics });
      report({ type: 'eval', name, iter: e.iter, metrics: e.metrics });
    }
  });
  try {
    const r = await runner.train();
    if (r.stopped && r.iter < run.maxIters) {
      throw new DetkitError('INTERRUPTED', `${name}: stopped at iteration ${r.iter} of ${run.maxIters} (${r.reason ?? 'stop requested'}); no result written, latest.safetensors resumes it`, { iter: r.iter });
    }
    if (history.length === 0 || history[history.length - 1]!.iter !== r.iter) {
      const metrics = await runner.evaluate();
      if (history.length === 0 || history[history.length - 1]!.iter !== r.iter) history.push({ iter: r.iter, metrics });
    }
    // A resumed run's evaluations before the resume point are in its metrics.jsonl.
    if (resilience.resumeFrom) history.unshift(...(await earlierEvaluations(run.workDir, history[0]?.iter ?? r.iter + 1)));
    const sorted = [...steps].sort((a, b) => a - b);
    const result: TrainingResult = {
      name,
      iters: r.iter,
      history,
      final: history[history.length - 1]?.metrics ?? {},
      msPerIter: sorted[Math.floor(sorted.length / 2)] ?? 0,
      wallSeconds: (performance.now() - t0) / 1000,
      workDir: run.workDir,
    };
    const out = join(run.workDir, 'result.json');
    await writeFile(`${out}.tmp`, JSON.stringify(result, null, 2) + '\n');
    await rename(`${out}.tmp`, out);
    return result;
  } finally {
    events.unsubscribe();
    sub.unsubscribe();
    await workers?.close();
    runner.dispose();
    run.model.dispose();
    for (const h of run.hooks) (h as { dispose?: () => void }).dispose?.();
  }
}

/** The overrides that make a run resumable (see `TrainRunOptions.checkpointEvery`), and the checkpoint it resumes from. */
async function resumableOverrides(config: DetkitConfig, every: number | undefined): Promise<{ overrides: string[]; resumeFrom?: string }> {
  if (every === undefined || every <= 0) return { overrides: [] };
  const overrides: string[] = [];
  const listed = config.hooks;
  if (listed === undefined) overrides.push(`train.checkpointInterval=${every}`);
  else if (!listed.some((h) => h.type === 'checkpoint')) overrides.push(`hooks.${listed.length}=${JSON.stringify({ type: 'checkpoint', interval: every, keepLast: 1 })}`);
  const resumeFrom = await newestCheckpoint(config.workDir);
  if (resumeFrom) overrides.push(`train.resumeFrom=${resumeFrom}`);
  return { overrides, resumeFrom };
}

/** The `eval` records of a run's metrics.jsonl before iteration `before`. */
async function earlierEvaluations(dir: string, before: number): Promise<TrainingResult['history']> {
  const text = await readFile(join(dir, 'metrics.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.includes('"eval"'))
    .map((l) => JSON.parse(l) as { type: string; iter: number; metrics: Metrics })
    .filter((e) => e.type === 'eval' && e.iter < before)
    .map((e) => ({ iter: e.iter, metrics: e.metrics }));
}
