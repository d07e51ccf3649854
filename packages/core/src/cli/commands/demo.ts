import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DetkitError, isDetkitError } from '../../errors.js';
import { loadPlugins, resolvePluginSpec } from '../../registry/plugins.js';
import { createRegistry } from '../../registry/registry.js';
import { createServices } from '../../registry/services.js';
import { silentLogger } from '../../util/logger.js';
import { chooseLayout } from '../../parallel/layout.js';
import { loadAllPlugins, type GlobalOptions } from '../session.js';
import { trainCommand } from './train.js';

/**
 * The demo: train a small detector on the embedded MNIST-detection data. The config is written
 * to the work dir (so it can be read, copied and edited) and trained like any other.
 */
export const DEMO_DETECTORS = ['dab-detr', 'detr'] as const;

export function demoConfig(detector: string): Record<string, unknown> {
  return {
    seed: 0,
    workDir: 'work_dirs/demo',
    model: { type: detector, numClasses: 10 },
    data: {
      train: { type: 'mnist-detection', split: 'train', count: 2000, canvasSize: 64 },
      val: { type: 'mnist-detection', split: 'val', count: 200, canvasSize: 64 },
      batchSize: 8,
    },
    train: { maxIters: 500, optimizer: { type: 'adamw', lr: 1e-4, weightDecay: 1e-4 }, evalInterval: 250, checkpointInterval: 250, logInterval: 10 },
  };
}

/** The plugin that provides the full demo (a `command` entry named 'demo'); core cannot depend on it. */
export const DEMO_PLUGIN = '@detkit/kd-detr';

export interface DemoCommandOptions extends GlobalOptions {
  iters?: string;
  teacherCheckpoint?: string;
  teacherConfig?: string;
  studentConfig?: string;
  evalInterval?: string;
  trainCount?: string;
  valCount?: string;
  jobs?: string;
  /** Train one detector only (the demo without the distillation plugin). */
  single?: boolean;
}

/** The demo's options (program.ts: `addDemoOptions(program.command('demo'))`). */
export function addDemoOptions(cmd: Command): Command {
  return cmd
    .option('--iters <n>', 'training iterations per student run (default 1000)')
    .option('--teacher-checkpoint <file>', 'teacher weights (default checkpoints/dab-detr-mnist-teacher.safetensors)')
    .option('--teacher-config <file>', 'teacher config (default configs/dab-detr/mnist-teacher.ts)')
    .option('--student-config <file>', 'student config (default configs/dab-detr/mnist-student.ts)')
    .option('--eval-interval <n>', 'iterations between validation evaluations (default 250)')
    .option('--train-count <n>', 'training images (default 4000)')
    .option('--val-count <n>', 'validation images (default 200)')
    .option('--general-points <n>', 'random distillation points per iteration (default 100)')
    .option('--jobs <n>', 'student runs trained at once, one process each (default: the layout estimated fastest; --jobs 1: one after another, all cores each)')
    .option('--single', 'train one detector alone, without the KD-DETR comparison');
}

/** True when `spec` resolves from the working directory (an optional package is installed). */
function installed(spec: string): boolean {
  try {
    resolvePluginSpec(spec, process.cwd());
    return true;
  } catch {
    return false;
  }
}

export async function demoCommand(opts: DemoCommandOptions): Promise<number> {
  // Find out what is installed before choosing (loading registers only; it is cheap).
  const probe = createRegistry(createServices({ logger: silentLogger, backend: 'none' }).services);
  await loadAllPlugins(probe, [], process.cwd());
  // The plugin is optional and treated like a builtin (DETKIT_NO_BUILTINS=1 skips it); a build
  // of it without a plugin export yet falls back to the single-detector demo.
  if (!opts.single && process.env.DETKIT_NO_BUILTINS !== '1' && installed(DEMO_PLUGIN)) {
    try {
      await loadPlugins(probe, [DEMO_PLUGIN], { baseDir: process.cwd() });
    } catch (e) {
      if (!isDetkitError(e, 'PLUGIN_INVALID')) throw e;
    }
  }
  if (!opts.single && probe.has('command', 'demo')) {
    // The full demo (teacher, student alone, student + KD-DETR) lives in the plugin.
    const { set: _set, single: _single, ...params } = opts;
    const demo = await probe.build<{ run(): Promise<number> }>('command', { type: 'demo', ...params });
    return demo.run();
  }
  const missing: string[] = [];
  if (!probe.has('dataset', 'mnist-detection')) missing.push("dataset 'mnist-detection' (@detkit/datasets)");
  if (!probe.has('loader', 'default')) missing.push("loader 'default' (@detkit/datasets)");
  const detector = DEMO_DETECTORS.find((d) => probe.has('detector', d));
  if (!detector) missing.push(`a detector (${DEMO_DETECTORS.join(' or ')}, @detkit/detectors)`);
  if (missing.length > 0) {
    throw new DetkitError('NOT_IMPLEMENTED', `detkit demo is not available yet: missing ${missing.join(', ')}`);
  }
  const workDir = resolve(opts.workDir ?? 'work_dirs/demo');
  await mkdir(workDir, { recursive: true });
  // One run: every core on it (data-parallel workers) when that is estimated faster, or a GPU.
  const layout = await chooseLayout({ workers: opts.workers !== undefined ? Number(opts.workers) : undefined, costs: [1] });
  process.stderr.write(`demo: layout: ${layout.reason}\n`);
  const config = demoConfig(detector!);
  config.train = { ...(config.train as object), workers: layout.workers };
  if (layout.backend) config.backend = layout.backend;
  const file = join(workDir, 'demo.config.json');
  await writeFile(`${file}.tmp`, JSON.stringify({ ...config, workDir }, null, 2) + '\n');
  await rename(`${file}.tmp`, file);
  process.stderr.write(`demo config written to ${file}\n`);
  // The demo owns its work dir: a rerun replaces the previous demo run (moved aside, not mixed).
  return trainCommand(file, { ...opts, force: true });
}
