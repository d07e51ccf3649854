import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DetkitError } from '../../errors.js';
import { createRegistry } from '../../registry/registry.js';
import { createServices } from '../../registry/services.js';
import { silentLogger } from '../../util/logger.js';
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

export async function demoCommand(opts: GlobalOptions): Promise<number> {
  // Find out what is installed before choosing (loading registers only; it is cheap).
  const probe = createRegistry(createServices({ logger: silentLogger, backend: 'none' }).services);
  await loadAllPlugins(probe, [], process.cwd());
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
  const file = join(workDir, 'demo.config.json');
  await writeFile(`${file}.tmp`, JSON.stringify({ ...demoConfig(detector!), workDir }, null, 2) + '\n');
  await rename(`${file}.tmp`, file);
  process.stderr.write(`demo config written to ${file}\n`);
  return trainCommand(file, opts);
}
