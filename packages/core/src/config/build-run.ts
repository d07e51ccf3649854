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
import { trainingConfig } from '../runner/training-config.js';
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

/**
 * The default hooks (logger, progress, checkpoint, eval when val data exists) with their settings
 * from `train` and `defaultHooks`; a default set to `false` there is left out.
 */
export function defaultHookConfigs(config: DetkitConfig): TypedConfig[] {
  const t = config.train;
  const implied: Record<string, Record<string, unknown>> = {
    logger: { interval: t.logInterval },
    progress: { interval: t.logInterval },
    checkpoint: { interval: t.checkpointInterval },
  };
  if (config.data.val) implied.eval = { interval: t.evalInterval };
  const hooks: TypedConfig[] = [];
  for (const [type, params] of Object.entries(implied)) {
    const setting = config.defaultHooks?.[type as keyof NonNullable<DetkitConfig['defaultHooks']>];
    if (setting === false) continue;
    hooks.push({ ...params, ...setting, type });
  }
  return hooks;
}

/** The config's hook list: `hooks` as given, or the defaults plus `customHooks`. */
export function hookConfigs(config: DetkitConfig): { configs: TypedConfig[]; defaults: boolean } {
  if (config.hooks && (config.customHooks || config.defaultHooks)) {
    throw new DetkitError(
      'CONFIG_INVALID',
      "Invalid config: 'hooks' is the complete hook list (it replaces the defaults), so it cannot be combined with 'customHooks'/'defaultHooks': use one or the other",
      { key: 'hooks' },
    );
  }
  if (config.hooks) return { configs: config.hooks, defaults: false };
  return { configs: [...defaultHookConfigs(config), ...(config.customHooks ?? [])], defaults: true };
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
    // Checkpoints record it; a resume under a different one is refused.
    trainingConfig: trainingConfig(config),
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
  const { configs, defaults } = hookConfigs(config);
  const defaultTypes = new Set(defaults ? defaultHookConfigs(config).map((h) => h.type) : []);
  for (const h of configs) {
    if (h.type === 'eval' && options.skipVal && defaultTypes.has('eval')) continue;
    if (defaultTypes.has(h.type) && !registry.has('hook', h.type)) {
      log.debug(`default hook '${h.type}' is not registered (is @detkit/hooks installed?); skipped`);
      continue;
    }
    hooks.push(await registry.build<Hook>('hook', h));
  }
  if (!defaults && configs.length > 0) warnDroppedDefaults(configs, log);
  if (config.train.lrSchedule) hooks.push(await registry.build<Hook>('hook', config.train.lrSchedule));
  // The distillation plugin owns `distill`; with a `type` it names the hook that implements it.
  if (config.distill && typeof config.distill.type === 'string') {
    hooks.push(await registry.build<Hook>('hook', config.distill as TypedConfig));
  }

  return hooks;
}

/** `hooks: [...]` replaces the defaults: say which ones this run goes without, so it is never silent. */
function warnDroppedDefaults(configs: readonly TypedConfig[], log: Registry['services']['logger']): void {
  const listed = new Set(configs.map((h) => h.type));
  const dropped = ['progress', 'checkpoint'].filter((d) => !listed.has(d));
  if (dropped.length === 0) return;
  log.warn(`config 'hooks' replaces the default hooks: this run has no ${dropped.join(' or ')} hook${dropped.includes('checkpoint') ? ' (no checkpoints are written)' : ''}; use 'customHooks' to add hooks and keep the defaults`);
}

/** A Dataset as batches through the config's `loader` entry, with the split's batch size and transforms. */
export async function buildLoader(registry: Registry, config: DetkitConfig, dataset: Dataset, split: 'train' | 'val'): Promise<BatchSource> {
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
