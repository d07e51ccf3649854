// Set-up shared by the scripts that time a detector's training step (bench/detectors.ts,
// bench/profile-step.ts, bench/time-iteration.ts): the default backend, a registry with the
// builtin detectors and datasets, the model of a config file, real MNIST-detection batches
// from the config's own dataset and loader, and one bare training step.
import * as tf from '@tensorflow/tfjs-core';
import {
  createOptimizer,
  createRegistry,
  createServices,
  loadConfig,
  selectBackend,
  silentLogger,
  type Batch,
  type BatchSource,
  type Dataset,
  type DetkitConfig,
  type Module,
  type Optimizer,
  type Registry,
  type SelectedBackend,
  type TrainableModel,
} from '@detkit/core';
import { registerDatasets } from '@detkit/datasets';
import { registerDetectors } from '@detkit/detectors';

export type BenchModel = TrainableModel & Module;

export interface DetectorSetup {
  backend: SelectedBackend;
  registry: Registry;
  config: DetkitConfig;
  model: BenchModel;
}

/** Selects the default backend (wasm here, with detkit's kernels) once per process, or `choice` when given. */
let backendOnce: Promise<SelectedBackend> | undefined;
export function defaultBackend(choice?: string): Promise<SelectedBackend> {
  return (backendOnce ??= selectBackend({ logger: silentLogger, backend: choice }));
}

/** Loads and validates a config file and builds its model through the registry (on `backend`, default auto). */
export async function setupDetector(cfgPath: string, backendChoice?: string): Promise<DetectorSetup> {
  const backend = await defaultBackend(backendChoice);
  const { config } = await loadConfig(cfgPath);
  const { services } = createServices({ logger: silentLogger, seed: config.seed, backend: backend.name });
  const registry = createRegistry(services);
  registerDetectors(registry.pluginContext('@detkit/detectors'));
  registerDatasets(registry.pluginContext('@detkit/datasets'));
  const model = await registry.build<BenchModel>('detector', config.model);
  return { backend, registry, config, model };
}

export interface BatchOptions {
  /** Batches to prepare (they are reused in turn). */
  count: number;
  batchSize: number;
  /** Overrides the dataset's canvas size (mnist-detection, shapes). */
  canvasSize?: number;
}

/**
 * `count` batches of the config's training dataset (its first count*batchSize images, the
 * config's train transforms) through its loader ('default' when the config names none), built
 * via the registry as a training run builds them. Held in memory so the loader's time is not
 * in the figures; release them with disposeBatches.
 */
export async function trainBatches(setup: DetectorSetup, o: BatchOptions): Promise<Batch[]> {
  const { registry, config } = setup;
  const dataset = await registry.build<Dataset>('dataset', {
    ...config.data.train,
    count: o.count * o.batchSize,
    ...(o.canvasSize !== undefined ? { canvasSize: o.canvasSize } : {}),
  });
  const { type = 'default', ...extra } = config.data.loader ?? {};
  const loader = await registry.build<BatchSource>('loader', {
    ...extra,
    type: String(type),
    dataset,
    batchSize: o.batchSize,
    shuffle: false,
    seed: config.seed,
    transforms: config.data.transforms ?? [],
  });
  const out: Batch[] = [];
  for await (const b of loader.batches(0)) out.push(b);
  return out;
}

export function disposeBatches(batches: readonly Batch[]): void {
  for (const b of batches) tf.dispose([b.images, b.masks]);
}

/** Extra loss terms computed inside the tape from the forward result (e.g. a distillation hook's). */
export type ExtraLosses = (forward: ReturnType<TrainableModel['forwardTrain']>) => Record<string, tf.Scalar>;

export interface TrainStep {
  /** forward + set criterion (+ `extra` terms) + backward + optimizer step on `batch`; returns the summed loss. */
  step(batch: Batch, extra?: ExtraLosses): number;
  dispose(): void;
}

/**
 * One bare training iteration with the config's optimizer (no gradient clipping, no hooks): what
 * the runner's step costs minus its bookkeeping. `aroundOptimizer` lets a profiler label that phase.
 */
export function makeTrainStep(setup: DetectorSetup, aroundOptimizer: (update: () => void) => void = (u) => u()): TrainStep {
  const { model, config } = setup;
  const params = model.trainableParameters();
  const nameOfVar = new Map(params.map(([n, v]) => [v.name, n]));
  const optimizer: Optimizer = createOptimizer(config.train.optimizer, params);
  const lr = config.train.optimizer.lr;
  return {
    step(batch, extra) {
      const { value, grads } = tf.variableGrads(() => {
        const forward = model.forwardTrain(batch);
        return tf.addN([...Object.values(forward.losses), ...Object.values(extra?.(forward) ?? {})]) as tf.Scalar;
      }, params.map(([, v]) => v));
      const named = new Map(Object.entries(grads).map(([k, g]) => [nameOfVar.get(k)!, g]));
      try {
        aroundOptimizer(() => optimizer.step(named, lr));
        return value.dataSync()[0]!; // waits for the step's kernels
      } finally {
        named.forEach((g) => g.dispose());
        value.dispose();
      }
    },
    dispose: () => optimizer.dispose(),
  };
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Cycles through held batches; the runner disposes each batch, so it gets clones. */
export function cycleBatches(batches: readonly Batch[]): BatchSource {
  return {
    length: 1_000_000,
    batches: () =>
      (async function* () {
        for (let i = 0; ; i++) {
          const b = batches[i % batches.length]!;
          yield { ...b, images: b.images.clone(), masks: b.masks.clone() };
        }
      })(),
  };
}
