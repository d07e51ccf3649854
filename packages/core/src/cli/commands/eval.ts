import { writeFileAtomic } from '../../util/atomic-write.js';
import { resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { buildRun } from '../../config/build-run.js';
import { DetkitError } from '../../errors.js';
import type { TrainableModel } from '../../runner/model.js';
import { EXIT } from '../exit-codes.js';
import { requireExport } from '../optional.js';
import { openSession, type GlobalOptions } from '../session.js';
import { loadRunner } from './train.js';

export interface EvalCommandOptions extends GlobalOptions {
  checkpoint?: string;
  gt?: string;
  results?: string;
  json?: string;
}

/** Loads weights from a weights file or a full checkpoint into `model`, strictly, and says what loaded. */
export async function loadWeightsInto(model: TrainableModel, file: string, log: (m: string) => void): Promise<void> {
  const loadModelWeights = await requireExport<(p: string) => Promise<Map<string, tf.Tensor>>>(
    '../checkpoint/checkpoint.js',
    'loadModelWeights',
    'Checkpoint loading (packages/core/src/checkpoint/checkpoint.ts)',
  );
  const weights = await loadModelWeights(resolve(file));
  try {
    const report = model.loadStateDict(weights, { strict: true, source: file });
    log(`loaded ${report.loaded.length} tensors from ${file}`);
  } finally {
    weights.forEach((t) => t.dispose());
  }
}

/**
 * `detkit eval <config> --checkpoint F`: evaluates a trained model on the config's val data.
 * `detkit eval --gt ann.json --results dets.json [--json F]`: scores a COCO results file.
 */
export async function evalCommand(configPath: string | undefined, opts: EvalCommandOptions): Promise<number> {
  if (opts.gt || opts.results) {
    if (!opts.gt || !opts.results) throw new DetkitError('INVALID_ARGUMENT', 'eval on files needs both --gt <annotations.json> and --results <detections.json>');
    const evalFiles = await requireExport<(o: { gt: string; results: string; json?: string }) => Promise<unknown>>(
      '@detkit/datasets',
      'evalFilesCommand',
      'COCO evaluation of result files (@detkit/datasets coco-eval)',
    );
    await evalFiles({ gt: opts.gt, results: opts.results, json: opts.json });
    return EXIT.ok;
  }
  if (!configPath) throw new DetkitError('INVALID_ARGUMENT', 'eval needs a config file (detkit eval <config> --checkpoint F) or --gt and --results');
  if (!opts.checkpoint) throw new DetkitError('INVALID_ARGUMENT', 'eval <config> needs --checkpoint <file.safetensors>');
  const session = await openSession(configPath, opts);
  const { config, file } = session.loaded;
  if (!config.data.val) throw new DetkitError('CONFIG_INVALID', `Invalid config ${file}:\n  data.val: eval needs validation data (got nothing (missing))`, { file });
  const Runner = await loadRunner();
  // Evaluation runs no hooks: the config's own list and defaults are for training.
  const options = await buildRun({ ...config, hooks: [], customHooks: undefined, defaultHooks: undefined }, session.registry);
  await loadWeightsInto(options.model, opts.checkpoint, (m) => session.logger.info(m));
  const metrics = await new Runner({ ...options, handleSignals: false }).evaluate();
  for (const [k, v] of Object.entries(metrics)) process.stdout.write(`${k.padEnd(12)} ${v.toFixed(4)}\n`);
  if (opts.json) {
    await writeFileAtomic(resolve(opts.json), JSON.stringify(metrics, null, 2) + '\n');
  }
  return EXIT.ok;
}
