import { resolve } from 'node:path';
import type { BatchSource, Dataset } from '../data/types.js';
import { DetkitError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import type { TypedConfig } from '../registry/types.js';
import type { Evaluator } from '../runner/evaluator.js';
import type { Hook } from '../runner/hook.js';
import { assertTrainableModel } from '../runner/assert-model.js';
import type { TrainableModel } from '../runner/model.js';
import type { RunnerOptions } from '../runner/options.js';
import type { DetkitConfig } from './schema.js';

/**
 * The loader seam. A Dataset becomes a BatchSource through a `loader`-kind entry (the
 * datasets package registers 'default'), built with the already-built Dataset in its params:
 *
 *   ctx.build('loader', { type: 'default', dataset, batchSize, shuffle, seed, transforms, split })
 *
 * `transforms` are the config's `{ type, ...params }` fragments (kind 'transform'); the loader
 * builds them with `ctx.build('transform', t)`. Extra keys of `data.loader` (e.g. prefetch,
 * dropLast) are passed through.
 */
export interface LoaderParams {
  dataset: Dataset;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  transforms: TypedConfig[];
  /** 'train' or 'val', for logs and for deriving per-split seeds. */
  split: 'train' | 'val';
  prefetch?: number;
  numWorkers?: number;
  [extra: string]: unknown;
}

export interface BuildRunOptions {
  /** Overrides `train.resumeFrom`. */
  resumeFrom?: string;
  /** Skip building validation data, evaluator and eval hook (e.g. `detkit predict`). */
  skipVal?: boolean;
}

/** Hook types used when a config lists none; a default whose name is not registered is skipped. */
export function defaultHookConfigs(config: DetkitConfig): TypedConfig[] {
  const t = config.train;
  const hooks: TypedConfig[] = [
    { type: 'logger', interval: t.logInterval },
    { type: 'progress', interval: t.logInterval },
    { type: 'checkpoint', interval: t.checkpointInterval },
  ];
  if (config.data.val) hooks.push({ type: 'eval', interval: t.evalInterval });
  return hooks;
}

/** Builds model, data, hooks and evaluator by registry name and returns what the Runner takes. */
export async function buildRun(config: DetkitConfig, registry: Registry, options: BuildRunOptions = {}): Promise<RunnerOptions> {
  const model = await buildModel(config, registry);

  const trainSet = await registry.build<Dataset>('dataset', config.data.train);
  const train = await buildLoader(registry, config, trainSet, 'train');

  let val: RunnerOptions['val'];
  if (config.data.val && !options.skipVal) {
    const valSet = await registry.build<Dataset>('dataset', config.data.val);
    const source = await buildLoader(registry, config, valSet, 'val');
    const evaluator = await registry.build<Evaluator>('evaluator', config.evaluator ?? { type: 'coco' });
    val = { source, dataset: valSet, evaluator };
  }

  const hooks = await buildHooks(config, registry, options);

  return {
    model,
    train,
    val,
    hooks,
    optimizer: config.train.optimizer,
    maxIters: config.train.maxIters,
    clipGradNorm: config.train.clipGradNorm,
    workDir: resolve(config.workDir),
    resumeFrom: options.resumeFrom ?? config.train.resumeFrom,
    services: registry.services,
  };
}

/** The config's detector, checked to be a TrainableModel. */
export async function buildModel(config: DetkitConfig, registry: Registry): Promise<TrainableModel> {
  const model = await registry.build<TrainableModel>('detector', config.model);
  assertTrainableModel(model, config.model.type);
  return model;
}

/**
 * The run's hooks: the config's (or the defaults), its LR schedule and its distillation hook.
 * Data-parallel workers build the same list and keep the hooks marked `everyRank`.
 */
export async function buildHooks(config: DetkitConfig, registry: Registry, options: Pick<BuildRunOptions, 'skipVal'> = {}): Promise<Hook[]> {
  const log = registry.services.logger;
  const hooks: Hook[] = [];
  if (config.hooks) {
    for (const h of config.hooks) hooks.push(await registry.build<Hook>('hook', h));
  } else {
    for (const h of defaultHookConfigs(config)) {
      if (h.type === 'eval' && options.skipVal) continue;
      if (!registry.has('hook', h.type)) {
        log.debug(`default hook '${h.type}' is not registered (is @detkit/hooks installed?); skipped`);
        continue;
      }
      hooks.push(await registry.build<Hook>('hook', h));
    }
  }
  if (config.train.lrSchedule) hooks.push(await registry.build<Hook>('hook', config.train.lrSchedule));
  // The distillation plugin owns `distill`; with a `type` it names the hook that implements it.
  if (config.distill && typeof config.distill.type === 'string') {
    hooks.push(await registry.build<Hook>('hook', config.distill as TypedConfig));
  }

  return hooks;
}

async function buildLoader(registry: Registry, config: DetkitConfig, dataset: Dataset, split: 'train' | 'val'): Promise<BatchSource> {
  const d = config.data;
  const { type = 'default', ...extra } = d.loader ?? {};
  const params: LoaderParams = {
    ...extra,
    dataset,
    batchSize: split === 'train' ? d.batchSize : (d.valBatchSize ?? d.batchSize),
    shuffle: split === 'train' ? d.shuffle : false,
    seed: config.seed,
    transforms: (split === 'train' ? d.transforms : d.valTransforms) ?? [],
    split,
    ...(d.prefetch !== undefined ? { prefetch: d.prefetch } : {}),
    ...(d.numWorkers !== undefined ? { numWorkers: d.numWorkers } : {}),
  };
  const source = await registry.build<BatchSource>('loader', { type: String(type), ...params });
  if (!source || typeof source.batches !== 'function' || typeof source.length !== 'number') {
    throw new DetkitError('MODEL_CONTRACT', `loader '${String(type)}' did not return a BatchSource ({ length, batches(epoch) })`);
  }
  return source;
}
