import { resolve } from 'node:path';
import type { Dataset, Detection, Sample } from '../../data/types.js';
import { buildRun } from '../../config/build-run.js';
import { assertFiniteDetections } from '../../runner/evaluation.js';
import { DetkitError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';
import { requireExport } from '../optional.js';
import { openSession, type GlobalOptions } from '../session.js';
import { loadWeightsInto } from './eval.js';

export interface PredictCommandOptions extends GlobalOptions {
  checkpoint?: string;
  out: string;
  count: string;
  scoreThreshold: string;
  split: string;
}

type WriteVis = (
  dir: string,
  items: Array<{ image: Sample; predictions: Detection[]; name?: string }>,
  options: { classNames?: readonly string[]; scoreThreshold?: number; scale?: number },
) => Promise<string[]>;

/** `detkit predict <config> --checkpoint F --out DIR`: draws predictions on the first N images of a split. */
export async function predictCommand(configPath: string, opts: PredictCommandOptions): Promise<number> {
  const writeVisualisations = await requireExport<WriteVis>('@detkit/datasets', 'writeVisualisations', 'Drawing predictions (@detkit/datasets vis)');
  const count = Number(opts.count);
  const threshold = Number(opts.scoreThreshold);
  if (!Number.isInteger(count) || count <= 0) throw new DetkitError('INVALID_ARGUMENT', `--count must be a positive integer, got '${opts.count}'`);
  if (!Number.isFinite(threshold)) throw new DetkitError('INVALID_ARGUMENT', `--score-threshold must be a number, got '${opts.scoreThreshold}'`);
  if (opts.split !== 'val' && opts.split !== 'train') throw new DetkitError('INVALID_ARGUMENT', `--split must be 'val' or 'train', got '${opts.split}'`);
  const session = await openSession(configPath, opts);
  const { config, file } = session.loaded;
  const split = opts.split === 'val' && config.data.val ? 'val' : 'train';
  if (opts.split === 'val' && !config.data.val) session.logger.warn(`${file} has no data.val; predicting on data.train`);
  // Build only what prediction needs: the model and one unshuffled loader over the chosen split.
  const data = { ...config.data, train: split === 'val' ? config.data.val! : config.data.train, val: undefined, shuffle: false, transforms: config.data.valTransforms };
  const options = await buildRun({ ...config, data, hooks: [], train: { ...config.train, lrSchedule: undefined }, distill: undefined }, session.registry, { skipVal: true });
  if (opts.checkpoint) await loadWeightsInto(options.model, opts.checkpoint, (m) => session.logger.info(m));
  else session.logger.warn('no --checkpoint: predicting with freshly initialised weights');
  const dataset = await session.registry.build<Dataset>('dataset', data.train);
  const model = options.model;
  model.eval();
  const byImage = new Map<number, Detection[]>();
  for await (const batch of options.train.batches(0)) {
    try {
      const dets = await model.predict(batch);
      dets.forEach(assertFiniteDetections);
      batch.targets.forEach((t, i) => byImage.set(t.imageId, dets[i] ?? []));
    } finally {
      batch.images.dispose();
      batch.masks.dispose();
    }
    if (byImage.size >= count) break;
  }
  const items = [];
  for (let i = 0; i < Math.min(count, dataset.length); i++) {
    const sample = await dataset.get(i);
    items.push({ image: sample, predictions: byImage.get(sample.imageId) ?? [], name: String(sample.imageId) });
  }
  const files = await writeVisualisations(resolve(opts.out), items, { classNames: model.classNames, scoreThreshold: threshold, scale: 4 });
  process.stdout.write(`wrote ${files.length} images to ${resolve(opts.out)}\n`);
  return EXIT.ok;
}
