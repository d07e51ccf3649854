// Deformable DETR on the default backend (wasm here): (1) the fused multi-scale deformable
// attention kernel against the composed-ops version (gather + bilinear weights), forward plus
// backward, at MNIST scale: batch 8, 8 heads x 16 channels, 4 points, the levels of the
// configs (8x8, 4x4, 2x2); encoder self-attention (a query per token) and decoder
// cross-attention (50 queries + 350 distillation points), with the tfjs kernels (and on webgpu
// the GPU dispatches) each takes; (2) ms per training iteration of the Deformable DETR student
// and teacher configs on real MNIST-detection batches of 8.
//   npm run bench -- deformable     (BENCH_ITERS=10 default for the model timings)
//   DETKIT_BACKEND=webgpu npm run bench -- deformable
// On webgpu (no synchronous reads in Node) the timings await the outputs' data, and the model
// timings use the runner's own training step (asynchronous matching read; no clipping, as on
// wasm). On a software adapter (SwiftShader) the figures are CPU figures, not GPU ones: fewer
// repetitions there (1 after 1 for the kernels, 2 iterations after 1 for the models: ~30 min
// on this 2-core machine, most of it the model iterations).
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  createOptimizer, trainStep,
  type Batch, type ForwardSteps, type LossTerms, type TrainableModel,
} from '@detkit/core';
import { defaultBackend, disposeBatches, makeTrainStep, median, setupDetector, trainBatches, type DetectorSetup } from './detector-setup.js';
import { kernelTable, onSoftwareGpu, onWebGpu, where } from './ms-deform-attn-calls.js';
import { fmt, printTable } from './timing.js';

const CONFIGS: ReadonlyArray<[string, string]> = [
  ['student', fileURLToPath(new URL('../configs/deformable-detr/mnist-student.ts', import.meta.url))],
  ['teacher', fileURLToPath(new URL('../configs/deformable-detr/mnist-teacher.ts', import.meta.url))],
];

function* lossSteps(model: TrainableModel, batch: Batch): ForwardSteps<LossTerms> {
  const f = model.forwardTrainSteps ? yield* model.forwardTrainSteps(batch) : model.forwardTrain(batch);
  return f.losses;
}

/**
 * One training step returning the loss: the bare synchronous step of detector-setup.ts, or on
 * webgpu (which Node cannot read synchronously) the runner's trainStep, unclipped like it.
 */
function makeStepper(setup: DetectorSetup): { step(batch: Batch): Promise<number>; dispose(): void } {
  if (!onWebGpu()) {
    const trainer = makeTrainStep(setup);
    return { step: async (batch) => trainer.step(batch), dispose: () => trainer.dispose() };
  }
  const params = setup.model.trainableParameters();
  const optimizer = createOptimizer(setup.config.train.optimizer, params);
  const lr = setup.config.train.optimizer.lr;
  return {
    step: async (batch) => (await trainStep(params, () => lossSteps(setup.model, batch), optimizer, lr, undefined)).totalLoss,
    dispose: () => optimizer.dispose(),
  };
}

async function modelTable(iters: number): Promise<void> {
  const rows = [['model', 'parameters', 'ms/train iter', 'tensors flat']];
  let backendName = '';
  for (const [name, path] of CONFIGS) {
    const setup = await setupDetector(path);
    backendName = setup.backend.name;
    const batches = await trainBatches(setup, { count: 2, batchSize: 8 });
    const stepper = makeStepper(setup);
    setup.model.train();
    const times: number[] = [];
    const tensors: number[] = [];
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      const loss = await stepper.step(batches[i % batches.length]!);
      if (!Number.isFinite(loss)) throw new Error(`${name}: loss ${loss} at iteration ${i}`);
      if (i > 0) {
        times.push(performance.now() - t0);
        tensors.push(tf.memory().numTensors);
      }
    }
    rows.push([name, setup.model.numParameters().toLocaleString('en-US'), fmt(median(times)), tensors.every((n) => n === tensors[0]) ? 'yes' : 'NO']);
    stepper.dispose();
    disposeBatches(batches);
    setup.model.dispose();
  }
  printTable(`Deformable DETR on MNIST-detection 64x64, batch 8, backend ${where(backendName)}; median of iterations 2..${iters}`, rows);
}

export async function run(): Promise<void> {
  const backend = await defaultBackend();
  await kernelTable(backend.name);
  const iters = Number(process.env['BENCH_ITERS'] ?? (onSoftwareGpu() ? 3 : 10));
  await modelTable(Math.max(onSoftwareGpu() ? 3 : 4, iters));
}

export const section = { name: 'deformable', run };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
