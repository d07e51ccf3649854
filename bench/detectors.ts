// The MNIST DAB-DETR, Deformable DETR and DINO teachers and students on the default backend, on real
// MNIST-detection batches of 8: parameters, ms per training iteration (forward + criterion +
// backward + AdamW, median after warm-up; DINO's includes its denoising queries), ms per image
// for inference (predict in eval mode on a batch of 8, median / 8), and tf.memory().numTensors
// after 10 and after BENCH_ITERS (default 100) iterations, which must be equal (a growing count
// is a leak in the training step).
//   npm run bench -- detectors     (or: node --conditions=source --import tsx bench/detectors.ts)
//   BENCH_ITERS=20 for a quick look; BENCH_MODELS=dino (a substring of the row names) for some rows.
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { defaultBackend, disposeBatches, makeTrainStep, median, setupDetector, trainBatches } from './detector-setup.js';
import { fmt, printTable } from './timing.js';

const config = (path: string) => fileURLToPath(new URL(`../configs/${path}`, import.meta.url));
const CONFIGS: ReadonlyArray<[string, string]> = [
  ['dab-detr teacher', config('dab-detr/mnist-teacher.ts')],
  ['dab-detr student', config('dab-detr/mnist-student.ts')],
  // DINO's shapes are the Deformable DETR configs': the difference is DINO's own work (denoising queries, query selection, interm loss).
  ['deformable-detr teacher', config('deformable-detr/mnist-teacher.ts')],
  ['deformable-detr student', config('deformable-detr/mnist-student.ts')],
  ['dino teacher', config('dino/mnist-teacher.ts')],
  ['dino student', config('dino/mnist-student.ts')],
];
const BATCH = 8;
const WARMUP = 2; // iterations left out of the median (kernel set-up, heap growth)
const LEAK_CHECK_AT = 10;
const PREDICT_REPS = 5;

interface Row {
  params: number;
  msPerIter: number;
  msPerImage: number;
  tensorsAt10: number;
  tensorsAtEnd: number;
  iters: number;
}

async function measure(cfgPath: string, iters: number): Promise<Row> {
  const setup = await setupDetector(cfgPath);
  const { model } = setup;
  const batches = await trainBatches(setup, { count: 4, batchSize: BATCH });
  const trainer = makeTrainStep(setup);
  model.train();
  const times: number[] = [];
  let tensorsAt10 = NaN;
  for (let i = 1; i <= iters; i++) {
    const t0 = performance.now();
    const loss = trainer.step(batches[i % batches.length]!);
    const ms = performance.now() - t0;
    if (!Number.isFinite(loss)) throw new Error(`${cfgPath}: loss ${loss} at iteration ${i}`);
    if (i > WARMUP) times.push(ms);
    if (i === LEAK_CHECK_AT) tensorsAt10 = tf.memory().numTensors;
  }
  const tensorsAtEnd = tf.memory().numTensors;

  model.eval();
  const predictTimes: number[] = [];
  for (let r = 0; r <= PREDICT_REPS; r++) {
    const t0 = performance.now();
    await model.predict(batches[0]!); // resolves with plain detections: the work is done
    if (r > 0) predictTimes.push(performance.now() - t0);
  }
  const row = { params: model.numParameters(), msPerIter: median(times), msPerImage: median(predictTimes) / BATCH, tensorsAt10, tensorsAtEnd, iters };
  trainer.dispose();
  disposeBatches(batches);
  model.dispose();
  return row;
}

export async function run(): Promise<void> {
  const iters = Number(process.env['BENCH_ITERS'] ?? 100);
  if (!Number.isInteger(iters) || iters < LEAK_CHECK_AT) throw new Error(`BENCH_ITERS must be an integer >= ${LEAK_CHECK_AT}, got ${process.env['BENCH_ITERS']}`);
  const backend = await defaultBackend();
  const rows = [['model', 'parameters', 'ms/train iter', 'ms/image infer', `tensors @${LEAK_CHECK_AT}`, `tensors @${iters}`, 'flat']];
  let leaked = false;
  const only = process.env['BENCH_MODELS'];
  const chosen = CONFIGS.filter(([name]) => !only || name.includes(only));
  if (chosen.length === 0) throw new Error(`BENCH_MODELS=${only} matches none of: ${CONFIGS.map(([n]) => n).join(', ')}`);
  for (const [name, path] of chosen) {
    const r = await measure(path, iters);
    const flat = r.tensorsAt10 === r.tensorsAtEnd;
    leaked ||= !flat;
    rows.push([name, r.params.toLocaleString('en-US'), fmt(r.msPerIter), fmt(r.msPerImage), String(r.tensorsAt10), String(r.tensorsAtEnd), flat ? 'yes' : 'NO']);
  }
  printTable(`DAB-DETR, Deformable DETR and DINO on MNIST-detection 64x64, batch ${BATCH}, backend ${backend.name}; train: median of iterations ${WARMUP + 1}..${iters}; infer: median of ${PREDICT_REPS} predict calls / ${BATCH}`, rows);
  if (leaked) throw new Error('tf.memory().numTensors grew between training iterations: the training step leaks tensors');
}

export const section = { name: 'detectors', run };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
