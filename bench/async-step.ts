// The runner's training step (async: SegmentedTape, the matching read awaited mid-pass, an awaited
// readout) against the synchronous step it replaced (tf.variableGrads around forwardTrain, dataSync
// for the matching and the readout), alternating on the MNIST DAB-DETR student, batch 8 of 64x64,
// on the default backend (wasm here): median ms per iteration of each, and whether both give
// bit-identical losses and gradients from the same weights.
//   npm run bench -- async-step          (BENCH_ITERS=10 per variant by default)
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  computeGradients, createOptimizer, createRegistry, createServices, globalGradNormTensor, selectBackend, silentLogger, trainStep, validateConfig,
  type Batch, type BatchTarget, type ForwardSteps, type LossTerms, type Optimizer, type TrainableModel,
} from '@detkit/core';
import { registerDetectors } from '@detkit/detectors';
import student from '../configs/dab-detr/mnist-student.js';

type Model = TrainableModel & { trainableParameters(): Array<[string, tf.Variable]>; dispose(): void };
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function batchOf(b: number, size: number, seed: number): Batch {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const targets: BatchTarget[] = Array.from({ length: b }, (_, i) => {
    const n = 1 + Math.floor(r() * 3);
    const boxes = Float32Array.from({ length: 4 * n }, (_, k) => (k % 4 < 2 ? 0.2 + 0.6 * r() : 0.1 + 0.2 * r()));
    return { boxes, labels: Int32Array.from({ length: n }, () => Math.floor(r() * 10)), imageId: i, height: size, width: size, origHeight: size, origWidth: size };
  });
  return { images: tf.tensor4d(Float32Array.from({ length: b * size * size * 3 }, r), [b, size, size, 3]), masks: tf.ones([b, size, size]) as tf.Tensor3D, targets };
}

function* lossSteps(model: Model, batch: Batch): ForwardSteps<LossTerms> {
  return (yield* model.forwardTrainSteps!(batch)).losses;
}

/** The synchronous step as it was before the async one (train-step.ts at 09e110d), for comparison. */
function legacyStep(params: Array<[string, tf.Variable]>, computeLosses: () => LossTerms, optimizer: Optimizer, lr: number, clipNorm: number): number {
  const nameOfVar = new Map(params.map(([name, v]) => [v.name, name]));
  let readout: tf.Tensor1D | undefined;
  let count = 0;
  const { value, grads } = tf.variableGrads(() => {
    const values = Object.values(computeLosses());
    count = values.length;
    const total = tf.addN(values) as tf.Scalar;
    readout = tf.keep(tf.stack([...values, total]) as tf.Tensor1D);
    return total;
  }, params.map(([, v]) => v));
  value.dispose();
  const byName = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) byName.set(nameOfVar.get(varName) ?? varName, g);
  const packed = tf.tidy(() => tf.concat([readout!, tf.reshape(globalGradNormTensor(byName), [1])]));
  const numbers = packed.dataSync();
  tf.dispose([packed, readout!]);
  const coef = clipNorm / (numbers[count + 1]! + 1e-6);
  if (coef < 1) for (const [name, g] of byName) (byName.set(name, tf.mul(g, coef)), g.dispose());
  optimizer.step(byName, lr);
  byName.forEach((g) => g.dispose());
  return numbers[count]!;
}

export async function run(): Promise<void> {
  const backend = await selectBackend({ logger: silentLogger });
  const config = validateConfig(student, 'configs/dab-detr/mnist-student.ts');
  const registry = createRegistry(createServices({ logger: silentLogger, seed: config.seed, backend: backend.name }).services);
  registerDetectors(registry.pluginContext('@detkit/detectors'));
  const model = await registry.build<Model>('detector', config.model);
  model.train();
  const params = model.trainableParameters();
  const batches = [batchOf(8, 64, 1), batchOf(8, 64, 2)];

  // Same weights, same batch: the two ways of taking gradients must agree exactly.
  const vars = params.map(([, v]) => v);
  const nameOf = new Map(params.map(([n, v]) => [v.name, n]));
  const sync = tf.variableGrads(() => tf.addN(Object.values(model.forwardTrain(batches[0]!).losses)) as tf.Scalar, vars);
  const asyncGrads = await computeGradients(params, () => lossSteps(model, batches[0]!));
  let maxDiff = 0;
  for (const [varName, g] of Object.entries(sync.grads)) {
    const a = g.dataSync();
    const b = asyncGrads.grads.get(nameOf.get(varName)!)!.dataSync();
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
  }
  const totals = [sync.value.dataSync()[0]!, asyncGrads.readout.dataSync().at(-1)!];
  tf.dispose([sync.value, ...Object.values(sync.grads), asyncGrads.readout, ...asyncGrads.grads.values()]);

  const iters = Number(process.env['BENCH_ITERS'] ?? 10);
  const opt = createOptimizer(config.train.optimizer, params);
  const lr = config.train.optimizer.lr;
  const clip = config.train.clipGradNorm;
  const times = { sync: [] as number[], async: [] as number[] };
  const timeSync = () => {
    const t0 = performance.now();
    legacyStep(params, () => model.forwardTrain(batches[0]!).losses, opt, lr, clip);
    return performance.now() - t0;
  };
  const timeAsync = async () => {
    const t0 = performance.now();
    await trainStep(params, () => lossSteps(model, batches[0]!), opt, lr, clip);
    return performance.now() - t0;
  };
  for (let i = 0; i < iters + 1; i++) {
    // Which goes first alternates, so neither always pays for the other's garbage.
    let syncMs: number;
    let asyncMs: number;
    if (i % 2 === 0) {
      syncMs = timeSync();
      asyncMs = await timeAsync();
    } else {
      asyncMs = await timeAsync();
      syncMs = timeSync();
    }
    if (i > 0) (times.sync.push(syncMs), times.async.push(asyncMs));
  }
  opt.dispose();
  batches.forEach((b) => tf.dispose([b.images, b.masks]));
  model.dispose();
  console.log(`backend ${backend.name}; student, batch 8 of 64x64; ${iters} iterations of each, interleaved (order alternating)`);
  console.log(`  synchronous step (before): median ${median(times.sync).toFixed(0)} ms/iter  [${times.sync.map((t) => t.toFixed(0)).join(' ')}]`);
  console.log(`  async step (runner now):   median ${median(times.async).toFixed(0)} ms/iter  [${times.async.map((t) => t.toFixed(0)).join(' ')}]`);
  console.log(`  same weights and batch: total loss ${totals[0]} vs ${totals[1]}, max |gradient difference| ${maxDiff} (${maxDiff === 0 && totals[0] === totals[1] ? 'bit-identical' : 'DIFFERENT'})`);
}

export const section = { name: 'async-step', run };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
