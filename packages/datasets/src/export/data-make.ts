import { DetkitError } from '../core.js';
import type { Dataset } from '../core.js';
import { MnistDetection, type MnistDetectionSplit } from '../mnist/mnist-detection.js';
import { ShapesDataset } from '../shapes/shapes-dataset.js';
import { exportCoco, type ExportCocoResult } from './export-coco.js';

export interface DataMakeOptions {
  /** 'mnist-detection' or 'shapes'. */
  name: string;
  out: string;
  split?: MnistDetectionSplit;
  count?: number;
  seed?: number;
  canvasSize?: number;
  overwrite?: boolean;
}

export interface DataMakeResult extends ExportCocoResult {
  seconds: number;
  /** One line for the CLI to print. */
  summary: string;
}

export const DATA_MAKE_NAMES = ['mnist-detection', 'shapes'] as const;

/** `detkit data make <name> --out DIR`: generates a synthetic set and writes it as COCO on disk. */
export async function dataMakeCommand(opts: DataMakeOptions): Promise<DataMakeResult> {
  const split = opts.split ?? 'train';
  let dataset: Dataset;
  if (opts.name === 'mnist-detection') {
    dataset = new MnistDetection({ split, count: opts.count, seed: opts.seed, canvasSize: opts.canvasSize });
  } else if (opts.name === 'shapes') {
    dataset = new ShapesDataset({ split, count: opts.count, seed: opts.seed, canvasSize: opts.canvasSize });
  } else {
    throw new DetkitError('INVALID_ARGUMENT', `data make: unknown data set '${opts.name}'; known: ${DATA_MAKE_NAMES.join(', ')}`, { name: opts.name });
  }
  const t0 = performance.now();
  const res = await exportCoco(dataset, opts.out, { overwrite: opts.overwrite });
  const seconds = (performance.now() - t0) / 1000;
  const summary = `${opts.name} ${split}: ${res.images} images, ${res.annotations} boxes -> ${res.annFile} (${seconds.toFixed(1)} s)`;
  return { ...res, seconds, summary };
}
