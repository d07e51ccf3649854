import { dirname, join } from 'node:path';
import { rename, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import {
  attachWorkers,
  buildRun,
  createConsoleLogger,
  createRegistry,
  createRng,
  createServices,
  loadBuiltinPlugins,
  loadConfig,
  loadPlugins,
  Runner,
  selectBackend,
  type Logger,
  type LoadedPlugin,
  type Metrics,
} from '@detkit/core';

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
 * reporting progress through `report`, and writes `result.json` in the run's work dir.
 */
export async function trainConfigFile(
  file: string,
  name: string,
  report: (m: ProgressMessage) => void,
  logger: Logger = createConsoleLogger(),
  options: { workers?: number } = {},
): Promise<TrainingResult> {
  const t0 = performance.now();
  const { config } = await loadConfig(file, { overrides: options.workers !== undefined ? [`train.workers=${options.workers}`] : [] });
  const backend = await selectBackend({ backend: config.backend, logger });
  const services = createServices({ logger, rng: createRng(config.seed), backend: backend.name });
  const registry = createRegistry(services.services);
  const loaded: LoadedPlugin[] = [];
  await loadBuiltinPlugins(registry, { baseDir: process.cwd(), loaded });
  await loadPlugins(registry, config.plugins, { baseDir: dirname(file), loaded });
  const run = await buildRun(config, registry);
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
    if (history.length === 0 || history[history.length - 1]!.iter !== r.iter) {
      const metrics = await runner.evaluate();
      if (history.length === 0 || history[history.length - 1]!.iter !== r.iter) history.push({ iter: r.iter, metrics });
    }
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
