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
  createOptimizer, msDeformAttn, trainStep, webGpuAdapter,
  type Batch, type ForwardSteps, type LossTerms, type MsDeformAttnImpl, type TrainableModel,
} from '@detkit/core';
import { defaultBackend, disposeBatches, makeTrainStep, median, setupDetector, trainBatches, type DetectorSetup } from './detector-setup.js';
import { countStepCosts, type StepCounts } from './step-counters.js';
import { fmt, printTable, randomTensor, timeTensor, timeTensorAsync, type Timing } from './timing.js';

const LEVELS: Array<[number, number]> = [[8, 8], [4, 4], [2, 2]];
const B = 8;
const HEADS = 8;
const HEAD_DIM = 16;
const POINTS = 4;

/** Forward + backward (gradients for value, locations, weights) of one sampling call. */
function fwdBwd(queries: number, impl: MsDeformAttnImpl): () => tf.Tensor[] {
  const S = LEVELS.reduce((s, [h, w]) => s + h * w, 0);
  const L = LEVELS.length;
  const value = randomTensor([B, S, HEADS, HEAD_DIM], 1);
  // Locations spread over [-0.1, 1.1] (some outside the map, as trained offsets produce).
  const locations = tf.tidy(() => tf.add(tf.mul(randomTensor([B, queries, HEADS, L, POINTS, 2], 2), 0.6), 0.5));
  const weights = tf.tidy(() => tf.softmax(tf.reshape(randomTensor([B, queries, HEADS, L * POINTS], 3), [B, queries, HEADS, L * POINTS]), -1).reshape([B, queries, HEADS, L, POINTS]));
  const dOut = randomTensor([B, queries, HEADS * HEAD_DIM], 4);
  const g = tf.grads((v: tf.Tensor, loc: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(msDeformAttn(v, LEVELS, loc, w, impl), dOut)));
  return () => g([value, locations, weights]);
}

const onWebGpu = () => tf.getBackend() === 'webgpu';
/** A software WebGPU adapter (SwiftShader): correct, slow, and its timings are CPU timings. */
const onSoftwareGpu = () => onWebGpu() && (webGpuAdapter()?.software ?? true);

function where(backend: string): string {
  const a = onWebGpu() ? webGpuAdapter() : undefined;
  if (!a) return backend;
  return `webgpu on ${a.vendor} ${a.architecture} (${a.description})${a.software ? ', a software adapter: CPU figures, not GPU ones' : ''}`;
}

function timeCall(fn: () => tf.Tensor[], reps: number, warmup: number): Promise<Timing> {
  return onWebGpu() ? timeTensorAsync(fn, reps, warmup) : Promise.resolve(timeTensor(fn, reps, warmup));
}

/** tfjs kernels and GPU dispatches (webgpu) of one call, its reads included. */
async function costsOf(fn: () => tf.Tensor[]): Promise<StepCounts> {
  const counter = countStepCosts();
  try {
    const out = tf.tidy(fn);
    await Promise.all(out.map((t) => t.data()));
    tf.dispose(out);
    return counter.take();
  } finally {
    counter.stop();
  }
}

/**
 * Cost counts (its first run: the warm-up, shaders compiled) then the median time of `reps`
 * more; an implementation that fails (webgpu: the composed ops' gather gradient at decoder
 * size, see below) gives its error instead.
 */
async function measureCall(fn: () => tf.Tensor[], reps: number, warmup: number): Promise<{ ms: number; costs: StepCounts } | { error: string }> {
  try {
    const costs = await costsOf(fn);
    return { ms: (await timeCall(fn, reps, warmup - 1)).med, costs };
  } catch (e) {
    // tfjs clears its tape only after a backward pass that finished: a failed tf.grads leaves
    // the dead tape in engine.state (gradientDepth back at 0), and the runner's training step
    // (modelTable on webgpu) refuses to start while one is there.
    const state = (tf.engine() as unknown as { state: { gradientDepth: number; activeTape: unknown } }).state;
    if (state.gradientDepth === 0) state.activeTape = null;
    return { error: (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 90) };
  }
}

async function kernelTable(backend: string): Promise<void> {
  const S = LEVELS.reduce((s, [h, w]) => s + h * w, 0);
  const gpu = onWebGpu();
  // On SwiftShader the composed version takes ~50 s per call at encoder size.
  const [reps, warmup] = onSoftwareGpu() ? [1, 1] : [10, 2];
  const rows = [['call', 'fused kernel ms', 'composed ms', 'speed-up', 'tfjs kernels fused/composed', ...(gpu ? ['GPU dispatches fused/composed'] : [])]];
  const failures: string[] = [];
  for (const [label, q] of [[`encoder self-attn (Q = S = ${S})`, S], ['decoder cross-attn (Q = 400)', 400]] as const) {
    const fused = await measureCall(fwdBwd(q, 'kernel'), reps, warmup);
    const composed = await measureCall(fwdBwd(q, 'composed'), reps, warmup);
    const cell = (r: typeof fused, f: (ok: { ms: number; costs: StepCounts }) => string) => ('error' in r ? 'failed' : f(r));
    for (const [impl, r] of [['kernel', fused], ['composed', composed]] as const) if ('error' in r) failures.push(`${label}, ${impl}: ${r.error}`);
    rows.push([
      label, cell(fused, (r) => fmt(r.ms)), cell(composed, (r) => fmt(r.ms)),
      'error' in fused || 'error' in composed ? '-' : `${(composed.ms / fused.ms).toFixed(1)}x`,
      `${cell(fused, (r) => String(r.costs.kernels))}/${cell(composed, (r) => String(r.costs.kernels))}`,
      ...(gpu ? [`${cell(fused, (r) => String(r.costs.dispatches))}/${cell(composed, (r) => String(r.costs.dispatches))}`] : []),
    ]);
  }
  printTable(`msDeformAttn forward + backward, batch ${B}, ${HEADS} heads x ${HEAD_DIM}, ${POINTS} points, levels ${LEVELS.map(([h, w]) => `${h}x${w}`).join(', ')}; backend ${where(backend)}; median of ${reps} after ${warmup}`, rows);
  for (const f of failures) console.log(`  failed: ${f}`);
}

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
