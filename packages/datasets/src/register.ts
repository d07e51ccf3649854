import { DetkitError } from './core.js';
import type { BuildContext, Dataset, PluginContext, TypedConfig } from './core.js';
import { CocoDataset } from './coco/coco-dataset.js';
import { DataLoader } from './loader/loader.js';
import { MnistDetection } from './mnist/mnist-detection.js';
import { ShapesDataset } from './shapes/shapes-dataset.js';
import { ImageFiles } from './images/image-files.js';
import { isTransform } from './transforms/build.js';
import { registerTransforms } from './transforms/register.js';
import type { Transform } from './transforms/transform.js';
import { ParamReader } from './util/params.js';

const isDataset = (x: unknown): x is Dataset =>
  typeof x === 'object' && x !== null && typeof (x as Dataset).get === 'function' && typeof (x as Dataset).length === 'number';
const isTyped = (x: unknown): x is TypedConfig => typeof x === 'object' && x !== null && typeof (x as TypedConfig).type === 'string';

/**
 * The loader seam: `ctx.build('loader', { type: 'default', dataset, batchSize, shuffle, seed,
 * transforms, dropLast, prefetch })`. `dataset` is an already-built Dataset (or a `{type}` config,
 * built here); each transform is a built Transform or a `{type, ...}` config built through the
 * registry, so plugin transforms work too. `seed` defaults to the run's RNG seed.
 */
async function buildLoader(params: Record<string, unknown>, ctx: BuildContext): Promise<DataLoader> {
  const r = new ParamReader('loader default', params);
  const ds = params.dataset;
  let dataset: Dataset;
  if (isDataset(ds)) dataset = ds;
  else if (isTyped(ds)) dataset = await ctx.build<Dataset>('dataset', ds);
  else throw new DetkitError('CONFIG_INVALID', `loader default: 'dataset' must be a built Dataset or a { type } config, got ${JSON.stringify(ds)}`, { key: 'dataset' });
  const raw = params.transforms ?? [];
  if (!Array.isArray(raw)) throw new DetkitError('CONFIG_INVALID', `loader default: 'transforms' must be an array`, { key: 'transforms' });
  const transforms: Transform[] = [];
  for (const [i, t] of raw.entries()) {
    if (isTransform(t)) transforms.push(t);
    else if (isTyped(t)) transforms.push(await ctx.build<Transform>('transform', t));
    else throw new DetkitError('CONFIG_INVALID', `loader default: transforms[${i}] must be a { type, ... } config`, { key: `transforms[${i}]` });
  }
  return new DataLoader(dataset, {
    batchSize: r.number('batchSize', undefined, { int: true, min: 1 }),
    shuffle: r.boolean('shuffle', false),
    seed: r.number('seed', ctx.services.rng.seed, { int: true }),
    dropLast: r.boolean('dropLast', false),
    prefetch: r.number('prefetch', 1, { int: true, min: 0 }),
    transforms,
  });
}

/** Registers datasets (coco, mnist-detection, shapes), the built-in transforms and the default loader. */
export function registerDatasets(ctx: PluginContext): void {
  ctx.register<Dataset>(
    'dataset',
    'coco',
    (p, b) => {
      const r = new ParamReader('dataset coco', p);
      return CocoDataset.load({
        annFile: r.string('annFile'),
        imageDir: r.string('imageDir'),
        skipInvalid: r.boolean('skipInvalid', false),
        boxTolerance: r.number('boxTolerance', 1, { min: 0 }),
        verifyImages: typeof p.verifyImages === 'boolean' ? p.verifyImages : r.oneOf('verifyImages', ['header', 'decode', 'none'] as const, 'header'),
        logger: b.services.logger,
      });
    },
    { description: 'COCO instances JSON + image folder (JPEG/PNG)' },
  );
  ctx.register<Dataset>(
    'dataset',
    'mnist-detection',
    (p) => {
      const r = new ParamReader('dataset mnist-detection', p);
      return new MnistDetection({
        split: r.oneOf('split', ['train', 'val'] as const, 'train'),
        count: r.optionalNumber('count', { int: true, min: 0 }),
        seed: r.number('seed', 0, { int: true }),
        canvasSize: r.number('canvasSize', 64, { int: true, min: 8 }),
        digitsPerImage: r.range('digitsPerImage', [1, 4], { int: true, min: 0 }),
        scaleRange: r.range('scaleRange', [0.2, 0.6], { min: 0, max: 1 }),
        maxOverlap: r.number('maxOverlap', 0.2, { min: 0, max: 1 }),
      });
    },
    { description: 'real MNIST digits on a canvas with exact boxes (embedded default)' },
  );
  ctx.register<Dataset>(
    'dataset',
    'shapes',
    (p) => {
      const r = new ParamReader('dataset shapes', p);
      return new ShapesDataset({
        split: r.string('split', 'train'),
        count: r.number('count', 256, { int: true, min: 0 }),
        seed: r.number('seed', 0, { int: true }),
        canvasSize: r.number('canvasSize', 64, { int: true, min: 8 }),
        shapesPerImage: r.range('shapesPerImage', [1, 3], { int: true, min: 0 }),
        sizeRange: r.range('sizeRange', [0.15, 0.45], { min: 0, max: 1 }),
      });
    },
    { description: 'synthetic circles, squares, triangles with exact boxes (fast tests)' },
  );
  ctx.register<Dataset>(
    'dataset',
    'images',
    (p) => {
      const paths = p.paths;
      if (!Array.isArray(paths) || paths.some((x) => typeof x !== 'string')) throw new DetkitError('CONFIG_INVALID', `dataset images: 'paths' must be an array of image files or folders, got ${JSON.stringify(paths)}`, { key: 'paths' });
      const classNames = p.classNames;
      if (classNames !== undefined && (!Array.isArray(classNames) || classNames.some((x) => typeof x !== 'string'))) throw new DetkitError('CONFIG_INVALID', `dataset images: 'classNames' must be an array of strings`, { key: 'classNames' });
      return ImageFiles.open({ paths: paths as string[], classNames: classNames as string[] | undefined });
    },
    { description: 'plain PNG/JPEG files or folders, no annotations (prediction)' },
  );
  registerTransforms(ctx);
  ctx.register('loader', 'default', buildLoader, { description: 'shuffling, padding, prefetching batch source over a Dataset' });
}
