import { join } from 'node:path';
import { chooseLayout, createConsoleLogger, createRegistry, createRng, createServices, loadBuiltinPlugins, loadConfig, selectBackend, writeFileAtomic, type Logger, type Metrics } from '@detkit/core';
import { writeDemoReport, verdictLine } from './demo-report.js';
import { evaluateWeights, type EvaluatedModel } from './evaluate.js';
import { runJobs, type TrainingJob } from './jobs.js';
import { resolveDemoOptions, type DemoOptions, type ResolvedDemoOptions } from './options.js';
import { RunsProgress } from './progress.js';
import { consoleTable } from './report.js';
import { relativeIterCost } from './run-cost.js';
import { DEMO_SCHEDULE, studentRunConfig } from './run-config.js';
import type { TrainingResult } from './run-training.js';
import { exportStudentSite } from './web-site.js';

export { DEMO_DEFAULTS, type DemoOptions } from './options.js';
export { DEMO_SCHEDULE, pluginModulePath, studentRunConfig, type ShortSchedule } from './run-config.js';

type Config = Awaited<ReturnType<typeof loadConfig>>['config'];

/** The two runs the demo compares: one seed, data order, schedule and iteration count. */
function demoRuns(d: ResolvedDemoOptions) {
  return [
    { name: 'student alone', dir: 'student-alone', distill: { type: 'kd-detr', method: 'none' } },
    {
      name: 'student + KD-DETR',
      dir: 'student-kd-detr',
      distill: {
        type: 'kd-detr',
        method: 'kd-detr',
        teacher: { config: d.teacherConfig, checkpoint: d.teacherCheckpoint },
        samplers: [{ type: 'general', count: d.settings.generalPoints }, { type: 'specific' }],
      },
    },
  ];
}

/** Writes each run's config and trains them in child processes, laid out on the cores (or a GPU) by chooseLayout. */
async function trainStudents(d: ResolvedDemoOptions, student: Config, teacher: Config): Promise<TrainingResult[]> {
  const runs = demoRuns(d);
  const teacherQueries = Number(teacher.model.numQueries ?? 300);
  const layout = await chooseLayout({ ...d.asked, costs: runs.map((r) => d.settings.iters * relativeIterCost(r.distill, student.model, teacherQueries)) });
  if (layout.backend) d.settings.backend = layout.backend;
  const jobs: TrainingJob[] = [];
  for (const r of runs) {
    const config = studentRunConfig(d.settings, student.model, student.train.optimizer, join(d.workDir, r.dir), r.distill, DEMO_SCHEDULE);
    const file = join(d.workDir, r.dir, 'config.json');
    await writeFileAtomic(file, JSON.stringify(config, null, 2) + '\n');
    jobs.push({ name: r.name, configFile: file, logFile: join(d.workDir, r.dir, 'train.log'), workers: layout.workers });
  }
  process.stderr.write(`demo: layout: ${layout.reason}\n`);
  process.stderr.write(`demo: ${d.settings.iters} iterations per student (seed ${d.settings.seed}); logs in ${d.workDir}/*/train.log\n`);
  const progress = new RunsProgress();
  try {
    return await runJobs(jobs, layout.jobs, (m) => progress.handle(m));
  } finally {
    progress.stop();
  }
}

/** The teacher and both students on the same validation images (weights loaded strictly); the children's final metrics stand for the students. */
async function evaluateModels(d: ResolvedDemoOptions, student: Config, teacher: Config, results: TrainingResult[], logger: Logger): Promise<{ evaluated: EvaluatedModel[]; backend: string }> {
  const backend = await selectBackend({ backend: d.settings.backend, logger });
  const registry = createRegistry(createServices({ logger, rng: createRng(d.settings.seed), backend: backend.name }).services);
  await loadBuiltinPlugins(registry, { baseDir: process.cwd() });
  const evalConfig = (model: unknown) => ({ ...studentRunConfig(d.settings, student.model, student.train.optimizer, d.workDir, {}), plugins: [], distill: undefined, model });
  const evaluated = [await evaluateWeights(registry, 'teacher', evalConfig(teacher.model), d.teacherCheckpoint)];
  for (const [i, r] of demoRuns(d).entries()) {
    const e = await evaluateWeights(registry, r.name, evalConfig(student.model), join(d.workDir, r.dir, 'student.safetensors'));
    evaluated.push({ ...e, metrics: results[i]!.final });
  }
  return { evaluated, backend: backend.name };
}

/**
 * `detkit demo`: trains the MNIST student twice with one seed, data order, schedule and
 * iteration count, alone and with KD-DETR from the shipped teacher; evaluates both and the
 * teacher, prints a table and writes report.md, ap-vs-iter.png and detections.png.
 */
export async function runDemo(raw: DemoOptions & Record<string, unknown>): Promise<number> {
  const d = resolveDemoOptions(raw);
  const logger = createConsoleLogger();
  const student = (await loadConfig(d.studentConfig)).config;
  const teacher = (await loadConfig(d.teacherConfig)).config;
  const results = await trainStudents(d, student, teacher);
  const { evaluated, backend } = await evaluateModels(d, student, teacher, results, logger);
  process.stdout.write(`\n${consoleTable(evaluated.map((e) => ({ name: e.name, metrics: e.metrics })))}\n\n`);
  const classNames = (student.model.classNames as string[] | undefined) ?? Array.from({ length: Number(student.model.numClasses) }, (_, i) => String(i));
  const s = d.settings;
  const schedule = `AdamW lr ${DEMO_SCHEDULE.lr}, ${DEMO_SCHEDULE.warmupIters} warm-up iterations, cosine decay to 0`;
  const report = await writeDemoReport({ ...d, ...s, backend, schedule, classNames, evaluated, results });
  process.stderr.write(`demo: report written to ${report}\n`);
  process.stderr.write(`demo: ${verdictLine(results[0]!.final, results[1]!.final)}\n`);
  const web = await exportStudentSite({ workDir: d.workDir, studentConfig: d.studentConfig, weights: join(d.workDir, 'student-kd-detr', 'student.safetensors'), metrics: results[1]!.final, backend: s.backend });
  const mb = (web.site.bundleAndWeightsBytes / 1e6).toFixed(1);
  process.stdout.write(`\nThe distilled student in a web page: ${web.site.dir} (bundle + weights ${mb} MB). Serve it: ${web.serveCommand}\n`);
  return 0;
}

export type DemoMetrics = Metrics;
