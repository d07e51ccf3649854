// A FULL training step (forward + backward incl. backbone + Adam) of the small DETR of
// tfjs-notes.md: stock wasm (backbone frozen: stock wasm lacks Conv2DBackpropFilter) vs
// detkit's wasm kernels, frozen and full; and one step on the cpu backend (BENCH_CPU=0 skips).
import * as tf from '@tensorflow/tfjs-core';
import { installWasmKernels, selectBackend, uninstallWasmKernels } from '@detkit/core';
import { buildBenchDetr, CLASSES, QUERIES } from './detr-model.js';
import { fmt, printTable, randomTensor, time, type Timing } from './timing.js';

const BATCH = 4;

function makeStep(trainBackbone: boolean): { step: () => number; dispose: () => void } {
  const model = buildBenchDetr();
  const images = tf.mul(tf.add(randomTensor([BATCH, 128, 128, 3], 5), 1), 0.5) as tf.Tensor4D;
  const labels = tf.tensor2d(Int32Array.from({ length: BATCH * QUERIES }, (_, i) => (i * 7) % CLASSES), [BATCH, QUERIES], 'int32');
  const boxes = tf.mul(tf.add(randomTensor([BATCH, QUERIES, 4], 6), 1), 0.5);
  const vars = trainBackbone ? [...model.backbone, ...model.transformer] : model.transformer;
  const adam = tf.train.adam(1e-4); // one optimizer per fixed variable list (see tfjs-notes)
  const step = () => {
    const loss = adam.minimize(() => model.forwardLoss(images, labels, boxes), true, vars)!;
    const v = loss.dataSync()[0]!;
    loss.dispose();
    return v;
  };
  const dispose = () => {
    adam.dispose();
    tf.dispose([images, labels, boxes, ...model.backbone, ...model.transformer]);
  };
  return { step, dispose };
}

function measure(trainBackbone: boolean, reps: number): { t: Timing; leak: number; loss: number } {
  const { step, dispose } = makeStep(trainBackbone);
  step();
  step();
  const before = tf.memory().numTensors;
  let loss = NaN;
  const t = time(() => (loss = step()), reps, 0);
  const leak = tf.memory().numTensors - before;
  dispose();
  return { t, leak, loss };
}

export async function run(): Promise<void> {
  await selectBackend({ backend: 'wasm' });
  const reps = Number(process.env['BENCH_STEPS'] ?? 10);
  const rows = [['DETR train step, batch 4 (ms/step)', 'min', 'median', 'tensors leaked/step', 'loss']];
  const add = (label: string, r: { t: Timing; leak: number; loss: number }) =>
    rows.push([label, fmt(r.t.min), fmt(r.t.med), String(r.leak / reps), r.loss.toFixed(3)]);

  uninstallWasmKernels();
  add('wasm stock kernels, backbone frozen', measure(false, reps));
  installWasmKernels();
  add('wasm + detkit kernels, backbone frozen', measure(false, reps));
  add('wasm + detkit kernels, FULL step', measure(true, reps));
  if (process.env['BENCH_CPU'] !== '0') {
    await tf.setBackend('cpu');
    const { step, dispose } = makeStep(true);
    const t0 = performance.now();
    const loss = step();
    rows.push(['cpu backend, FULL step (1 step, cold)', fmt(performance.now() - t0), '-', '-', loss.toFixed(3)]);
    dispose();
    await tf.setBackend('wasm');
  }
  printTable('Small DETR training step (target < 300 ms/step on wasm)', rows);
}

export const section = { name: 'detr-step', run };
