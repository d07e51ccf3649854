import { resolve } from 'node:path';
import type { DetkitConfig } from '../../config/schema.js';
import type { Dataset, Detection, Sample } from '../../data/types.js';
import { predictDataset } from '../../api/predict-dataset.js';
import { trainedModel } from '../../api/trained-model.js';
import { DetkitError } from '../../errors.js';
import type { Registry } from '../../registry/registry.js';
import { EXIT } from '../exit-codes.js';
import { requireExport } from '../optional.js';
import { openSession, type GlobalOptions } from '../session.js';

export interface PredictCommandOptions extends GlobalOptions {
  checkpoint?: string;
  /** PNGs with the detections drawn go here (default `predictions`, unless only --json is asked). */
  out?: string;
  /** COCO results file of every detection (no score threshold). */
  json?: string;
  /** Image files or folders to predict on, instead of the config's data. */
  images?: string[];
  count?: string;
  scoreThreshold: string;
  split: string;
}

type WriteVis = (
  dir: string,
  items: Array<{ image: Sample; predictions: Detection[]; name?: string }>,
  options: { classNames?: readonly string[]; scoreThreshold?: number; scale?: number },
) => Promise<string[]>;
type WriteResults = (file: string, detections: readonly Detection[], categoryIds?: readonly number[]) => Promise<void>;

/**
 * `detkit predict <config> --checkpoint F [--images DIR|FILE...] [--out DIR] [--json F]`: the
 * detections of a trained model on plain images, or on the first N images of the config's split,
 * drawn as PNGs and/or written as COCO results.
 */
export async function predictCommand(configPath: string, opts: PredictCommandOptions): Promise<number> {
  const threshold = Number(opts.scoreThreshold);
  if (!Number.isFinite(threshold)) throw new DetkitError('INVALID_ARGUMENT', `--score-threshold must be a number, got '${opts.scoreThreshold}'`);
  if (opts.split !== 'val' && opts.split !== 'train') throw new DetkitError('INVALID_ARGUMENT', `--split must be 'val' or 'train', got '${opts.split}'`);
  const count = opts.count === undefined ? undefined : Number(opts.count);
  if (count !== undefined && (!Number.isInteger(count) || count <= 0)) throw new DetkitError('INVALID_ARGUMENT', `--count must be a positive integer, got '${opts.count}'`);
  const out = opts.out ?? (opts.json ? undefined : 'predictions');

  const session = await openSession(configPath, opts);
  const { config, file } = session.loaded;
  const model = await trainedModel(session, opts.checkpoint, 'no --checkpoint: predicting with freshly initialised weights');

  let dataset: Dataset;
  let limit: number;
  if (opts.images?.length) {
    dataset = await session.registry.build<Dataset>('dataset', { type: 'images', paths: opts.images.map((p) => resolve(p)), classNames: model.classNames });
    limit = Math.min(count ?? dataset.length, dataset.length);
  } else {
    const split = opts.split === 'val' && config.data.val ? 'val' : 'train';
    if (opts.split === 'val' && !config.data.val) session.logger.warn(`${file} has no data.val; predicting on data.train`);
    dataset = await session.registry.build<Dataset>('dataset', split === 'val' ? config.data.val! : config.data.train);
    limit = Math.min(count ?? 16, dataset.length);
  }
  const byImage = await predictDataset(model, dataset, { registry: session.registry, config }, limit);

  const samples: Sample[] = [];
  for (let i = 0; i < limit; i++) samples.push(await dataset.get(i));
  if (opts.json) {
    const writeCocoResults = await requireExport<WriteResults>('@detkit/datasets', 'writeCocoResults', 'Writing COCO results (@detkit/datasets)');
    const detections = samples.flatMap((s) => byImage.get(s.imageId) ?? []);
    await writeCocoResults(resolve(opts.json), detections, await categoryIds(dataset, config, session.registry));
    process.stdout.write(`wrote ${detections.length} detections on ${samples.length} images to ${resolve(opts.json)}\n`);
  }
  if (out) {
    const writeVisualisations = await requireExport<WriteVis>('@detkit/datasets', 'writeVisualisations', 'Drawing predictions (@detkit/datasets vis)');
    const items = samples.map((s) => ({ image: s, predictions: byImage.get(s.imageId) ?? [], name: String(s.imageId) }));
    const files = await writeVisualisations(resolve(out), items, { classNames: model.classNames, scoreThreshold: threshold, scale: 4 });
    process.stdout.write(`wrote ${files.length} images to ${resolve(out)}\n`);
  }
  return EXIT.ok;
}

/**
 * COCO category ids for the model's labels: a COCO dataset's own (from the predicted split, or
 * for plain images from the config's data), else label + 1, as `detkit data make` writes them.
 */
async function categoryIds(dataset: Dataset, config: DetkitConfig, registry: Registry): Promise<readonly number[] | undefined> {
  const own = (dataset as { categoryIds?: readonly number[] }).categoryIds;
  if (own) return own;
  const data = config.data.val ?? config.data.train;
  if (data.type !== 'coco') return undefined;
  return (await registry.build<Dataset & { categoryIds?: number[] }>('dataset', data)).categoryIds;
}
