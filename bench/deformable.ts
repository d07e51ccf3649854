// Deformable DETR on the default backend (wasm here): (1) the fused multi-scale deformable
// attention kernel against the composed-ops version (gather + bilinear weights), forward plus
// backward, at MNIST scale: batch 8, 8 heads x 16 channels, 4 points, the levels of the
// configs (8x8, 4x4, 2x2); encoder self-attention (a query per token) and decoder
// cross-attention (50 queries + 350 distillation points); (2) ms per training iteration of
// the Deformable DETR student and teacher configs on real MNIST-detection batches of 8.
//   npm run bench -- deformable     (BENCH_ITERS=10 default for the model timings)
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { msDeformAttn, type MsDeformAttnImpl } from '@detkit/core';
import { defaultBackend, disposeBatches, makeTrainStep, median, setupDetector, trainBatches } from './detector-setup.js';
import { fmt, printTable, randomTensor, timeTensor } from './timing.js';

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

async function kernelTable(backend: string): Promise<void> {
  const S = LEVELS.reduce((s, [h, w]) => s + h * w, 0);
  const rows = [['call', 'fused kernel ms', 'composed ms', 'speed-up']];
  for (const [label, q] of [[`encoder self-attn (Q = S = ${S})`, S], ['decoder cross-attn (Q = 400)', 400]] as const) {
    const fused = timeTensor(fwdBwd(q, 'kernel'), 10, 2).med;
    const composed = timeTensor(fwdBwd(q, 'composed'), 10, 2).med;
    rows.push([label, fmt(fused), fmt(composed), `${(composed / fused).toFixed(1)}x`]);
  }
  printTable(`msDeformAttn forward + backward, batch ${B}, ${HEADS} heads x ${HEAD_DIM}, ${POINTS} points, levels ${LEVELS.map(([h, w]) => `${h}x${w}`).join(', ')}; backend ${backend}; median of 10`, rows);
}

const CONFIGS: ReadonlyArray<[string, string]> = [
  ['student', fileURLToPath(new URL('../configs/deformable-detr/mnist-student.ts', import.meta.url))],
  ['teacher', fileURLToPath(new URL('../configs/deformable-detr/mnist-teacher.ts', import.meta.url))],
];

async function modelTable(iters: number): Promise<void> {
  const rows = [['model', 'parameters', 'ms/train iter', 'tensors flat']];
  let backendName = '';
  for (const [name, path] of CONFIGS) {
    const setup = await setupDetector(path);
    backendName = setup.backend.name;
    const batches = await trainBatches(setup, { count: 2, batchSize: 8 });
    const trainer = makeTrainStep(setup);
    setup.model.train();
    const times: number[] = [];
    let tensorsAt2 = 0;
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      const loss = trainer.step(batches[i % batches.length]!);
      if (!Number.isFinite(loss)) throw new Error(`${name}: loss ${loss} at iteration ${i}`);
      if (i > 0) times.push(performance.now() - t0);
      if (i === 2) tensorsAt2 = tf.memory().numTensors;
    }
    rows.push([name, setup.model.numParameters().toLocaleString('en-US'), fmt(median(times)), tf.memory().numTensors === tensorsAt2 ? 'yes' : 'NO']);
    trainer.dispose();
    disposeBatches(batches);
    setup.model.dispose();
  }
  printTable(`Deformable DETR on MNIST-detection 64x64, batch 8, backend ${backendName}; median of iterations 2..${iters}`, rows);
}

export async function run(): Promise<void> {
  const backend = await defaultBackend();
  await kernelTable(backend.name);
  const iters = Number(process.env['BENCH_ITERS'] ?? 10);
  await modelTable(Math.max(4, iters));
}

export const section = { name: 'deformable', run };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
