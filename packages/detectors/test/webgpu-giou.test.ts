/**
 * `pairGiouCxcywh` on webgpu, where it runs core's fused kernel (core/src/backend/webgpu/giou.ts):
 * GIoU against the float64 reference, gradients against central differences of it on generic
 * pairs, and against the composed ops on cpu everywhere, ties included (identical boxes, shared
 * edges, one box inside the other: there the gradient is tfjs's choice at a kink); one dispatch
 * forward and one per gradient; no leaks. Skipped with the reason printed where no adapter exists.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { hasFusedPairGiou, selectBackend, silentLogger } from '@detkit/core';
import { cxcywhToXyxy64, elementwiseGiou64, pairGiouCxcywh } from '../src/index.js';
import { finiteDiff, scaledError } from '@detkit/core/testing';
import { probeWebGpu } from './webgpu-helpers.js';

const probe = await probeWebGpu();

/** Deterministic values in [0, 1). */
function uniform(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

/** K random cxcywh boxes: centres in [0.2, 0.8], sizes in [0.05, 0.5]. */
function randomBoxes(k: number, seed: number): number[] {
  const u = uniform(4 * k, seed);
  return u.map((v, i) => (i % 4 < 2 ? 0.2 + 0.6 * v : 0.05 + 0.45 * v));
}

/** Pairs with ties: identical, a shared right edge, one inside the other, disjoint, touching. */
const TIES_A = [0.5, 0.5, 0.2, 0.2, 0.3, 0.3, 0.2, 0.2, 0.5, 0.5, 0.5, 0.5, 0.2, 0.2, 0.1, 0.1, 0.25, 0.5, 0.5, 0.5];
const TIES_B = [0.5, 0.5, 0.2, 0.2, 0.35, 0.3, 0.1, 0.4, 0.5, 0.5, 0.25, 0.25, 0.8, 0.8, 0.1, 0.1, 0.75, 0.5, 0.5, 0.5];

interface Figures {
  giou: Float32Array;
  da: Float32Array;
  db: Float32Array;
}

async function run(a: number[], b: number[], dy: number[]): Promise<Figures> {
  const k = a.length / 4;
  const av = tf.variable(tf.tensor2d(a, [k, 4]));
  const bv = tf.variable(tf.tensor2d(b, [k, 4]));
  const dOut = tf.tensor1d(dy);
  let g: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul((g = tf.keep(pairGiouCxcywh(av, bv))), dOut)), [av, bv]);
  const outs = [g!, grads[av.name]!, grads[bv.name]!];
  const [giou, da, db] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
  tf.dispose([av, bv, dOut, value, ...outs]);
  return { giou: giou!, da: da!, db: db! };
}

async function onCpu<T>(f: () => Promise<T>): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return await f();
  } finally {
    await tf.setBackend('webgpu');
  }
}

/** Central differences of sum(giou64 * dy) in float64, per coordinate of `a` (or of `b`). */
function numericGrad(a: number[], b: number[], dy: number[], wrtA: boolean): Float64Array {
  const f = (x: ArrayLike<number>, y: ArrayLike<number>) => elementwiseGiou64(cxcywhToXyxy64(x), cxcywhToXyxy64(y)).reduce((s, v, i) => s + v * dy[i]!, 0);
  return wrtA ? finiteDiff((x) => f(x, b), a) : finiteDiff((y) => f(a, y), b);
}

if (!probe.ok) {
  console.log(`webgpu GIoU tests skipped: ${probe.why}`);
  test.skip(`webgpu GIoU (skipped: ${probe.why.slice(0, 160)})`, () => {});
} else {
  test.before(async () => {
    await selectBackend({ backend: 'webgpu', logger: silentLogger });
  });

  test.serial('random pairs: GIoU = float64 to 1e-5, gradients = central differences and the composed ops on cpu to 1e-4', async (t) => {
    t.true(hasFusedPairGiou('webgpu'));
    const k = 64;
    const a = randomBoxes(k, 1);
    const b = randomBoxes(k, 2);
    const dy = uniform(k, 3).map((v) => 2 * v - 1);
    const got = await run(a, b, dy);
    const composed = await onCpu(() => run(a, b, dy));
    const want = elementwiseGiou64(cxcywhToXyxy64(a), cxcywhToXyxy64(b));
    const e = {
      giou: scaledError(got.giou, want),
      da: scaledError(got.da, numericGrad(a, b, dy, true)),
      db: scaledError(got.db, numericGrad(a, b, dy, false)),
      daCpu: scaledError(got.da, composed.da),
      dbCpu: scaledError(got.db, composed.db),
    };
    t.log(Object.entries(e).map(([n, v]) => `${n} ${v.toExponential(1)}`).join(', '));
    t.true(e.giou < 1e-5, `giou ${e.giou}`);
    for (const n of ['da', 'db', 'daCpu', 'dbCpu'] as const) t.true(e[n] < 1e-4, `${n} ${e[n]}`);
  });

  test.serial('ties (identical boxes, shared edges, nested, touching): the composed ops\' values and gradients', async (t) => {
    const dy = [1, -0.5, 0.7, 1.3, -1];
    const got = await run(TIES_A, TIES_B, dy);
    const composed = await onCpu(() => run(TIES_A, TIES_B, dy));
    const e = { giou: scaledError(got.giou, composed.giou), da: scaledError(got.da, composed.da), db: scaledError(got.db, composed.db) };
    t.log(Object.entries(e).map(([n, v]) => `${n} ${v.toExponential(1)}`).join(', '));
    for (const [n, v] of Object.entries(e)) t.true(v < 1e-5, `${n} ${v}`);
  });

  test.serial('one dispatch forward and one for the gradient asked for; no leaks', async (t) => {
    const a = tf.variable(tf.tensor2d(randomBoxes(8, 5), [8, 4]));
    const b = tf.tensor2d(randomBoxes(8, 6), [8, 4]);
    const backend = tf.backend() as unknown as { runWebGPUProgram: (...x: unknown[]) => unknown };
    const stock = backend.runWebGPUProgram;
    const keys: string[] = [];
    backend.runWebGPUProgram = (...x: unknown[]) => (keys.push((x[0] as { shaderKey?: string }).shaderKey ?? '?'), stock.apply(backend, x));
    const step = () => tf.dispose(Object.values(tf.tidy(() => tf.variableGrads(() => tf.sum(pairGiouCxcywh(a, b)), [a]).grads)));
    try {
      step();
    } finally {
      backend.runWebGPUProgram = stock;
    }
    t.deepEqual(keys.filter((k) => k.startsWith('detkit_pair_giou')), ['detkit_pair_giou', 'detkit_pair_giou_grad'], keys.join(', '));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    t.is(tf.memory().numTensors, before);
    tf.dispose([a, b]);
  });
}
