import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs'; // gradients + cpu backend
import {
  createRegistry,
  createServices,
  saveModelOnly,
  Runner,
  type RunnerOptions,
  type Batch,
  type BatchSource,
  type BatchTarget,
  type Hook,
  type Logger,
  type Registry,
  type TypedConfig,
} from '@detkit/core';
import { registerDetectors, type QueryGroupDetector } from '@detkit/detectors';
import { plugin } from '../src/kd-detr.js';

/** A tiny DAB-DETR model section (small-cnn backbone): milliseconds per step on cpu. */
export function tinyModel(over: Record<string, unknown> = {}): TypedConfig {
  return {
    type: 'dab-detr',
    numClasses: 3,
    backbone: { type: 'small-cnn', channels: [8, 16], seed: 1 },
    hiddenDim: 16,
    numHeads: 2,
    numEncoderLayers: 1,
    numDecoderLayers: 2,
    dimFeedforward: 32,
    numQueries: 6,
    seed: 3,
    ...over,
  };
}

export interface Captured extends Logger {
  lines: string[];
}

export function captureLogger(): Captured {
  const lines: string[] = [];
  const push = (m: string) => void lines.push(m);
  return { lines, debug: push, info: push, warn: push, error: push };
}

/** A registry with the detectors and the kd-detr plugin, and a logger that records lines. */
export async function testRegistry(seed = 5): Promise<{ registry: Registry; logger: Captured }> {
  const logger = captureLogger();
  const registry = createRegistry(createServices({ logger, seed, backend: 'cpu' }).services);
  registerDetectors(registry.pluginContext('@detkit/detectors'));
  await plugin.register(registry.pluginContext(plugin.name));
  return { registry, logger };
}

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'kd-detr-test-'));
}

/** Builds a teacher from a model section and writes its (random) weights: a stand-in for a trained one. */
export async function writeTeacher(registry: Registry, dir: string, model: TypedConfig = tinyModel({ seed: 11, hiddenDim: 24, numQueries: 5 })): Promise<{ checkpoint: string; model: TypedConfig }> {
  const t = await registry.build<QueryGroupDetector>('detector', model);
  const checkpoint = join(dir, 'teacher.safetensors');
  await saveModelOnly(checkpoint, t);
  t.dispose();
  return { checkpoint, model };
}

/** Deterministic random images (16x16) with 1-2 boxes each. */
export function tinyBatch(b = 2, size = 16, seed = 0): Batch {
  let s = seed * 9973 + 17;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const images = tf.tensor4d(Float32Array.from({ length: b * size * size * 3 }, () => r()), [b, size, size, 3]);
  const targets: BatchTarget[] = Array.from({ length: b }, (_, i) => {
    const n = 1 + (i % 2);
    const boxes = new Float32Array(4 * n);
    for (let k = 0; k < n; k++) boxes.set([0.3 + 0.4 * r(), 0.3 + 0.4 * r(), 0.2 + 0.3 * r(), 0.2 + 0.3 * r()], 4 * k);
    return { boxes, labels: Int32Array.from({ length: n }, (_, k) => (i + k) % 3), imageId: i, height: size, width: size, origHeight: size, origWidth: size };
  });
  return { images, masks: tf.ones([b, size, size]) as tf.Tensor3D, targets };
}

/** `length` batches per epoch, each a pure function of (epoch, index). */
export function tinySource(length = 2, b = 2): BatchSource {
  return {
    length,
    batches(epoch: number) {
      return (async function* () {
        for (let i = 0; i < length; i++) yield tinyBatch(b, 16, epoch * length + i);
      })();
    },
  } as BatchSource;
}

/** A Runner over the tiny source (no validation, no signal handler). */
export function tinyRunner(registry: Registry, model: QueryGroupDetector, hooks: Hook[], maxIters: number, workDir = tmp()): Runner {
  return new Runner(tinyRunnerOptions(registry, model, hooks, maxIters, workDir));
}

/** The options of `tinyRunner`, to add to (e.g. `resumeFrom`). */
export function tinyRunnerOptions(registry: Registry, model: QueryGroupDetector, hooks: Hook[], maxIters: number, workDir = tmp()): RunnerOptions {
  return {
    model,
    train: tinySource(),
    hooks,
    optimizer: { type: 'adamw', lr: 1e-3, weightDecay: 1e-4 },
    maxIters,
    clipGradNorm: 0.1,
    workDir,
    services: registry.services,
    handleSignals: false,
  };
}

/** Copies of every tensor of a state dict, as plain arrays (for bit-identical comparisons). */
export function snapshot(m: { stateDict(): Map<string, tf.Tensor> }): Map<string, Float32Array> {
  return new Map([...m.stateDict()].map(([k, v]) => [k, (v.dataSync() as Float32Array).slice()]));
}

/** Whether any tensor of `m`'s state dict differs from `before` (a `snapshot`): the names of those that do. */
export function changedSince(m: { stateDict(): Map<string, tf.Tensor> }, before: Map<string, Float32Array>): string[] {
  return [...snapshot(m)].filter(([k, v]) => v.some((x, i) => x !== before.get(k)![i])).map(([k]) => k);
}

/** Records, after every iteration of `runner`, its loss terms (`iters`) and the live tensor count (`tensors`). */
export function recordIterations(runner: Runner): { iters: Array<Record<string, number>>; tensors: number[] } {
  const iters: Array<Record<string, number>> = [];
  const tensors: number[] = [];
  runner.events$.subscribe((e) => {
    if (e.type === 'afterIter') {
      iters.push(e.losses);
      tensors.push(tf.memory().numTensors);
    }
  });
  return { iters, tensors };
}

/**
 * Writes `dir/config.json`: a tiny DETR on cpu over the `shapes` dataset (batches of 4), for runs
 * through trainConfigFile or a child process; `train` overrides keys of its train section.
 */
export function writeTinyRunConfig(dir: string, train: Record<string, unknown>, extra: Record<string, unknown> = {}, trainCount = 32): string {
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({
    seed: 3,
    backend: 'cpu',
    workDir: dir,
    model: tinyModel(),
    data: { train: { type: 'shapes', count: trainCount, canvasSize: 32 }, val: { type: 'shapes', count: trainCount / 4, canvasSize: 32, seed: 9 }, batchSize: 4 },
    evaluator: { type: 'coco' },
    train: { checkpointInterval: 0, logInterval: 100, ...train },
    ...extra,
  }));
  return file;
}
