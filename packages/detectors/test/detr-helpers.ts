import test, { type ExecutionContext } from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import {
  createOptimizer, createRegistry, createServices, isDetkitError, loadConfig, selectBackend, silentLogger,
  type Batch, type BatchTarget, type DetkitConfig, type Detection, type TrainableModel,
} from '@detkit/core';
import { DabDetr, DeformableDetr, Dino, registerDetectors, SmallCnn, type DabDetrOptions, type DeformableDetrOptions, type DetrCommonOptions, type DinoOptions } from '../src/detectors.js';
import { rng } from './box-helpers.js';

/**
 * What the tiny DETR-family models share: 3 classes, the small CNN, d = 16, 1 encoder + 2
 * decoder layers, 6 queries; `over` wins. The default backbone is built only when `over`
 * brings none (an unused one would leave its variables undisposed).
 */
function tinyDetrOptions<O extends DetrCommonOptions>(over: Partial<O>): DetrCommonOptions & Partial<O> {
  return {
    numClasses: 3,
    hiddenDim: 16,
    numHeads: 2,
    numEncoderLayers: 1,
    numDecoderLayers: 2,
    dimFeedforward: 32,
    numQueries: 6,
    seed: 3,
    ...over,
    backbone: over.backbone ?? new SmallCnn({ channels: [8, 16], seed: 1 }),
  };
}

/** Twice the tiny models' width (d = 32, 10 queries): the training tests' models, over tinyDabDetr / tinyDeformableDetr. */
export function widerTinyOptions(): Partial<DetrCommonOptions> {
  return { backbone: new SmallCnn({ channels: [16, 32], seed: 1 }), hiddenDim: 32, numHeads: 4, dimFeedforward: 64, numQueries: 10, seed: 5 };
}

/** A tiny DAB-DETR that runs in milliseconds on the cpu backend. */
export function tinyDabDetr(over: Partial<DabDetrOptions> = {}): DabDetr {
  return new DabDetr(tinyDetrOptions(over));
}

/** A batch of `b` random images (the second one padded on the right/bottom) with 1-2 boxes each. */
export function tinyBatch(b = 2, size = 16, seed = 0): Batch {
  const r = rng(seed);
  const images = tf.tensor4d(Float32Array.from({ length: b * size * size * 3 }, () => r()), [b, size, size, 3]);
  const m = new Float32Array(b * size * size).fill(1);
  if (b > 1) for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) if (i >= size - 4 || j >= size - 6) m[size * size + i * size + j] = 0;
  const targets: BatchTarget[] = Array.from({ length: b }, (_, i) => {
    const n = 1 + (i % 2);
    const boxes = new Float32Array(4 * n);
    for (let k = 0; k < n; k++) boxes.set([0.3 + 0.4 * r(), 0.3 + 0.4 * r(), 0.2 + 0.3 * r(), 0.2 + 0.3 * r()], 4 * k);
    return { boxes, labels: Int32Array.from({ length: n }, (_, k) => (i + k) % 3), imageId: i, height: size, width: size, origHeight: 2 * size, origWidth: 3 * size };
  });
  return { images, masks: tf.tensor3d(m, [b, size, size]), targets };
}

export function disposeBatch(b: Batch): void {
  b.images.dispose();
  b.masks.dispose();
}

/** A tiny Deformable DETR (2 levels: the small CNN's stride-4 map and one extra stride-2 level). */
export function tinyDeformableDetr(over: Partial<DeformableDetrOptions> = {}): DeformableDetr {
  return new DeformableDetr(tinyDetrOptions({ numFeatureLevels: 2, numPoints: 2, groupNormGroups: 4, ...over }));
}

/** A tiny DINO (2 levels as tinyDeformableDetr; denoising budget 4: with at most 2 boxes, 2 groups of 4). */
export function tinyDino(over: Partial<DinoOptions> = {}): Dino {
  return new Dino(tinyDetrOptions({ numFeatureLevels: 2, numPoints: 2, groupNormGroups: 4, dnNumber: 4, ...over }));
}

/** One optimiser step on the summed losses of `m.forwardTrain(batch)`; returns that sum. */
export function trainStep(m: TrainableModel, batch: Batch, opt: ReturnType<typeof createOptimizer>, lr: number): number {
  const params = m.trainableParameters();
  const byVar = new Map(params.map(([n, v]) => [v.name, n]));
  const { value, grads } = tf.variableGrads(() => tf.addN(Object.values(m.forwardTrain(batch).losses)) as tf.Scalar, params.map(([, v]) => v));
  const named = new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k)!, g]));
  opt.step(named, lr);
  named.forEach((g) => g.dispose());
  const loss = value.dataSync()[0]!;
  value.dispose();
  return loss;
}

/**
 * Registers the serial test "a tiny NAME overfits one batch": 30 AdamW steps on one batch, the
 * loss falls below half its first value and the tensor count stays flat.
 */
export function testOverfitsOneBatch(name: string, makeModel: () => TrainableModel): void {
  test.serial(`a tiny ${name} overfits one batch (loss falls markedly in 30 iterations) without leaking tensors`, (t) => {
    const m = makeModel();
    const batch = tinyBatch(2, 32, 1);
    const opt = createOptimizer({ type: 'adamw', lr: 5e-3, weightDecay: 0 }, m.trainableParameters());
    const losses: number[] = [];
    let tensorsAfter2 = 0;
    for (let i = 0; i < 30; i++) {
      losses.push(trainStep(m, batch, opt, 5e-3));
      if (i === 2) tensorsAfter2 = tf.memory().numTensors;
    }
    t.is(tf.memory().numTensors, tensorsAfter2, 'tensor count grew across iterations');
    const first = losses[0]!;
    const last = Math.min(...losses.slice(-3));
    t.log(losses.map((l) => l.toFixed(2)).join(' ')); t.log(`loss ${first.toFixed(3)} -> ${last.toFixed(3)} on ${tf.getBackend()}`);
    t.true(last < 0.5 * first, `loss did not fall enough: ${first} -> ${last}`);
    opt.dispose();
    disposeBatch(batch);
    m.dispose();
  });
}

/** Registers the predict test: `makeModel(7)` (topK 7) gives 7 detections per image with scores in (0, 1) and labels of 3 classes, leaking nothing. */
export function testPredictsTopK(makeModel: (topK: number) => TrainableModel): void {
  test.serial('predict: top-k detections in original-image pixels, eval mode restored, no leaks', async (t) => {
    const m = makeModel(7);
    const dets = await checkedPredict(t, m);
    t.deepEqual(dets.map((d) => d.length), [7, 7]);
    for (const d of dets) for (const x of d) t.true(x.score > 0 && x.score < 1 && x.label >= 0 && x.label < 3);
    m.dispose();
  });
}

/** `m.predict` on two 32x32 images (the second padded), checking that it leaks no tensor and leaves `m` in training mode. */
export async function checkedPredict(t: ExecutionContext, m: TrainableModel): Promise<Detection[][]> {
  const batch = tinyBatch(2, 32, 2);
  const before = tf.memory().numTensors;
  const dets = await m.predict(batch);
  t.is(tf.memory().numTensors, before);
  t.true(m.training);
  disposeBatch(batch);
  return dets;
}

/** Runs the file's tests on wasm with detkit's kernels (the fused deformable-attention kernel among them). */
export function useWasmBackend(): void {
  test.before(async () => {
    await selectBackend({ backend: 'wasm', logger: silentLogger });
  });
}

/** A registry (services seeded 1) with this package's detectors registered. */
export function detectorRegistry(): ReturnType<typeof createRegistry> {
  const { services } = createServices({ logger: silentLogger, seed: 1 });
  const reg = createRegistry(services);
  registerDetectors(reg.pluginContext('@detkit/detectors'));
  return reg;
}

/** Each case, `base` with `over` on top, must fail to build with CONFIG_INVALID naming `key`, its message matching. */
export async function expectConfigInvalid(
  t: ExecutionContext,
  reg: ReturnType<typeof createRegistry>,
  base: { type: string; [key: string]: unknown },
  cases: ReadonlyArray<[Record<string, unknown>, string, RegExp]>,
): Promise<void> {
  for (const [over, key, message] of cases) {
    const err = await t.throwsAsync(reg.build('detector', { ...base, ...over }));
    t.true(isDetkitError(err, 'CONFIG_INVALID') && err.details?.['key'] === key && message.test(err.message), `${key}: ${String(err)}`);
  }
}

/** A shipped config (`file` under the repo's configs/) loaded, and its model built by a fresh detectorRegistry(). */
export async function buildShippedConfig<M>(file: string): Promise<{ config: DetkitConfig; model: M }> {
  const { config } = await loadConfig(fileURLToPath(new URL(`../../../configs/${file}`, import.meta.url)));
  return { config, model: await detectorRegistry().build<M>('detector', config.model) };
}
