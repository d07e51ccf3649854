/**
 * Data-parallel test fixtures: a tiny DAB-DETR config (ResNet backbone with trainable
 * BatchNorm, so batch statistics must be synchronised) distilled by KD-DETR from a tiny
 * teacher, rank 0's registry on wasm, and the plugin URLs a worker loads.
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  buildHooks,
  buildModel,
  createRegistry,
  createServices,
  DataParallelGroup,
  resolvePluginSpec,
  selectBackend,
  silentLogger,
  validateConfig,
  type Batch,
  type BatchSource,
  type DetkitConfig,
  type DetkitPlugin,
  type ReplicaSnapshot,
  type WireTensor,
  type Hook,
  type Registry,
  type TrainableModel,
} from '@detkit/core';
import { registerDetectors } from '@detkit/detectors';
import { plugin } from '../src/kd-detr.js';
import { tinyBatch, tinyModel, tmp, writeTeacher } from './helpers.js';

export const FAIL_PLUGIN = new URL('./fixtures/fail-plugin.ts', import.meta.url).href;
export const PLUGINS = [resolvePluginSpec('@detkit/detectors', process.cwd()), new URL('../src/plugin.ts', import.meta.url).href, FAIL_PLUGIN];
export const BASE_DIR = fileURLToPath(new URL('..', import.meta.url));

export async function useWasm(): Promise<void> {
  await selectBackend({ backend: 'wasm', logger: silentLogger });
}

export async function wasmRegistry(seed = 5): Promise<Registry> {
  const registry = createRegistry(createServices({ logger: silentLogger, seed, backend: tf.getBackend() }).services);
  registerDetectors(registry.pluginContext('@detkit/detectors'));
  await plugin.register(registry.pluginContext(plugin.name));
  const fail = (await import(FAIL_PLUGIN)).default as DetkitPlugin;
  await fail.register(registry.pluginContext(fail.name));
  return registry;
}

/** The student: ResNet stem + 2 stages (6 BatchNorm layers), d=16, 2 decoder layers, 6 queries. */
/** The tiny DAB-DETR with a trainable-BatchNorm ResNet backbone (synchronised BN takes part). */
export function studentModel() {
  return tinyModel({ backbone: { type: 'resnet', depth: 18, baseWidth: 8, blocks: [1, 1], norm: 'batch', seed: 1 } });
}

/** A validated config: the student distilled (default: KD-DETR, general + specific points, 'sum' KL) from a random tiny teacher. */
export async function dpConfig(distill: Record<string, unknown> = {}, train: Record<string, unknown> = {}, hooks: Array<Record<string, unknown>> = []): Promise<DetkitConfig> {
  const dir = tmp();
  const teacher = await writeTeacher(await wasmRegistry(), dir);
  return validateConfig(
    {
      seed: 5,
      workDir: dir,
      model: studentModel(),
      data: { train: { type: 'shapes' }, batchSize: 5 },
      hooks,
      train: { optimizer: { type: 'adamw', lr: 1e-3, weightDecay: 1e-4 }, clipGradNorm: 0.1, ...train },
      distill: {
        type: 'kd-detr',
        teacher: { model: teacher.model, checkpoint: teacher.checkpoint },
        saveStudent: false,
        ...(distill.method === undefined ? { method: 'kd-detr', samplers: [{ type: 'general', count: 7 }, { type: 'specific' }] } : {}),
        ...distill,
      },
    },
    'dp-test-config',
  );
}

/** Rank 0's model and hooks built from `config`, as buildRun would. */
export async function rank0(config: DetkitConfig): Promise<{ registry: Registry; model: TrainableModel; hooks: Hook[] }> {
  const registry = await wasmRegistry(config.seed);
  return { registry, model: await buildModel(config, registry), hooks: await buildHooks(config, registry) };
}

export function startGroup(config: DetkitConfig, model: TrainableModel, hooks: readonly Hook[], worldSize = 2): Promise<DataParallelGroup> {
  return DataParallelGroup.start({ worldSize, config, plugins: PLUGINS, pluginBaseDir: BASE_DIR, backend: tf.getBackend(), model, hooks, logger: silentLogger });
}

/** A 5-image batch (shares of 3 and 2: uneven on purpose) of 32x32 images with 1-2 boxes each. */
export function globalBatch(seed = 0): Batch {
  return tinyBatch(5, 32, seed);
}

export function cloneBatch(b: Batch): Batch {
  return { ...b, images: b.images.clone(), masks: b.masks.clone() };
}

/** `length` batches of `b` 32x32 images per epoch, each a pure function of (epoch, index). */
export function source(length: number, b: number): BatchSource {
  return {
    length,
    batches: (epoch: number) =>
      (async function* () {
        for (let i = 0; i < length; i++) yield tinyBatch(b, 32, 100 + epoch * length + i);
      })(),
  };
}

/** Two snapshots hold the same bits (model and optimizer state), or the names that differ. */
export function differences(a: ReplicaSnapshot, b: ReplicaSnapshot): string[] {
  const bytes = (w: WireTensor) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength);
  const index = (list: WireTensor[]) => new Map(list.map((w) => [w.name, w]));
  const out: string[] = [];
  for (const [part, x, y] of [['model', a.model, b.model], ['optimizer', a.optimizer, b.optimizer]] as const) {
    const ya = index(y);
    if (x.length !== y.length) out.push(`${part}: ${x.length} vs ${y.length} tensors`);
    for (const w of x) {
      const v = ya.get(w.name);
      if (!v || !bytes(w).equals(bytes(v))) out.push(`${part}.${w.name}`);
    }
  }
  return out;
}
