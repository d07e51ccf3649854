/**
 * The split-reduction Conv2DBackpropFilter on WebGPU (src/backend/webgpu/conv-filter.ts): the
 * filter gradient of tf.conv2d against a float64 brute-force sum and against the cpu backend,
 * for 'same', 'valid' and explicit padding, strides 1 and 2, odd sizes, one chunk and many;
 * its dispatches; no leaked GPU buffers. Runs where an adapter exists (SwiftShader here and in
 * CI), otherwise skipped with the reason printed.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { chunkCount, MIN_CHUNK, TARGET_THREADS } from '../src/backend/webgpu/conv-filter.js';
import { probeBackend, selectBackend } from '../src/backend/select-backend.js';
import { silentLogger } from '../src/util/logger.js';
import { randomValues } from './random-values.js';
import { onCpu, programsDuring } from './webgpu-compare.js';
import { scaledError } from '@detkit/core/testing';

const probe = await probeBackend('webgpu');
const TOL = 1e-5;

type Pad = 'same' | 'valid' | number;
interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
  pad: Pad;
}

const outSize = (n: number, f: number, s: number, pad: Pad): number =>
  pad === 'same' ? Math.ceil(n / s) : pad === 'valid' ? Math.ceil((n - f + 1) / s) : Math.floor((n + 2 * pad - f) / s) + 1;
/** Top (left) padding as TensorFlow defines it: 'same' puts the odd pixel at the bottom (right). */
const padBefore = (n: number, f: number, s: number, pad: Pad): number =>
  pad === 'same' ? Math.floor(Math.max((outSize(n, f, s, pad) - 1) * s + f - n, 0) / 2) : pad === 'valid' ? 0 : pad;

function inputs(c: Case, seed: number): { x: Float32Array; dy: Float32Array; dyShape: [number, number, number, number] } {
  const [B, H, W] = c.x;
  const [FH, FW, , Co] = c.filter;
  const dyShape: [number, number, number, number] = [B, outSize(H, FH, c.stride, c.pad), outSize(W, FW, c.stride, c.pad), Co];
  return { x: randomValues(c.x.reduce((a, b) => a * b, 1), seed), dy: randomValues(dyShape.reduce((a, b) => a * b, 1), seed + 1), dyShape };
}

/** dW[wR, wC, d1, d2] = sum over (b, yR, yC) of x[b, yR*s - top + wR, yC*s - left + wC, d1] * dy[b, yR, yC, d2], in float64. */
function reference(c: Case, x: Float32Array, dy: Float32Array, dyShape: number[]): Float64Array {
  const [B, H, W, Ci] = c.x;
  const [FH, FW, , Co] = c.filter;
  const [, Ho, Wo] = dyShape as [number, number, number];
  const top = padBefore(H, FH, c.stride, c.pad);
  const left = padBefore(W, FW, c.stride, c.pad);
  const dw = new Float64Array(FH * FW * Ci * Co);
  for (let wR = 0; wR < FH; wR++) for (let wC = 0; wC < FW; wC++) for (let d1 = 0; d1 < Ci; d1++) for (let d2 = 0; d2 < Co; d2++) {
    let acc = 0;
    for (let b = 0; b < B; b++) for (let yR = 0; yR < Ho; yR++) for (let yC = 0; yC < Wo; yC++) {
      const xR = yR * c.stride - top + wR;
      const xC = yC * c.stride - left + wC;
      if (xR < 0 || xR >= H || xC < 0 || xC >= W) continue;
      acc += x[((b * H + xR) * W + xC) * Ci + d1]! * dy[((b * Ho + yR) * Wo + yC) * Co + d2]!;
    }
    dw[((wR * FW + wC) * Ci + d1) * Co + d2] = acc;
  }
  return dw;
}

/** The filter gradient of sum(conv2d(x, w) * dy) on the active backend (w itself does not enter it). */
async function filterGrad(c: Case, x: Float32Array, dy: Float32Array, dyShape: [number, number, number, number]): Promise<Float32Array> {
  const g = tf.tidy(() => {
    const xt = tf.tensor4d(x, c.x);
    const dyt = tf.tensor4d(dy, dyShape);
    const w = tf.zeros(c.filter) as tf.Tensor4D;
    return tf.grad((wv) => tf.sum(tf.mul(tf.conv2d(xt, wv as tf.Tensor4D, c.stride, c.pad), dyt)))(w);
  });
  const data = (await g.data()) as Float32Array;
  g.dispose();
  return data;
}

test('chunkCount: enough threads for a small filter, one chunk for a large one, never a chunk under MIN_CHUNK positions', (t) => {
  // The H200 case that motivated it: a 3x3x3x32 stem at batch 32 of 128x128 outputs.
  const stem = chunkCount(3 * 3 * 3 * 32, 32 * 128 * 128);
  t.true(stem * 864 >= TARGET_THREADS, `${stem} chunks`);
  t.is(chunkCount(3 * 3 * 256 * 256, 8 * 8 * 8), 1);
  t.is(chunkCount(10, 64), 64 / MIN_CHUNK);
  t.is(chunkCount(10, 1), 1);
});

if (!probe.ok) {
  console.log(`webgpu Conv2DBackpropFilter tests skipped: ${probe.why}`);
  test.skip(`webgpu Conv2DBackpropFilter (skipped: ${probe.why.slice(0, 160)})`, () => {});
} else {
  test.before(async () => {
    await selectBackend({ backend: 'webgpu', logger: silentLogger });
  });

  const cases: Array<[string, Case]> = [
    ['3x3 stride 1 same, [2,7,7,3] -> 5 (many chunks)', { x: [2, 7, 7, 3], filter: [3, 3, 3, 5], stride: 1, pad: 'same' }],
    ['3x3 stride 2 same, odd [2,9,8,4] -> 6 (padding at bottom/right)', { x: [2, 9, 8, 4], filter: [3, 3, 4, 6], stride: 2, pad: 'same' }],
    ['1x1 stride 1 valid, [3,6,6,2] -> 8', { x: [3, 6, 6, 2], filter: [1, 1, 2, 8], stride: 1, pad: 'valid' }],
    ['7x7 stride 2 pad 3, [1,11,11,3] -> 4 (a ResNet stem)', { x: [1, 11, 11, 3], filter: [7, 7, 3, 4], stride: 2, pad: 3 }],
    ['3x3 stride 2 same, [4,32,32,3] -> 8 (64 chunks, as a stem)', { x: [4, 32, 32, 3], filter: [3, 3, 3, 8], stride: 2, pad: 'same' }],
    ['3x3 stride 1 valid, [1,3,3,16] -> 64 (one chunk)', { x: [1, 3, 3, 16], filter: [3, 3, 16, 64], stride: 1, pad: 'valid' }],
  ];
  for (const [i, [name, c]] of cases.entries()) {
    test.serial(`${name}: filter gradient = float64 brute force and cpu to 1e-5`, async (t) => {
      t.is(tf.getBackend(), 'webgpu');
      const { x, dy, dyShape } = inputs(c, 100 + 10 * i);
      const got = await filterGrad(c, x, dy, dyShape);
      const vsRef = scaledError(got, reference(c, x, dy, dyShape));
      const vsCpu = scaledError(got, await onCpu(() => filterGrad(c, x, dy, dyShape)));
      const F = c.filter.reduce((a, b) => a * b, 1);
      t.log(`${chunkCount(F, dyShape[0] * dyShape[1] * dyShape[2])} chunks; webgpu vs float64 ${vsRef.toExponential(1)}, vs cpu ${vsCpu.toExponential(1)}`);
      t.true(vsRef < TOL, `vs float64: ${vsRef}`);
      t.true(vsCpu < TOL, `vs cpu: ${vsCpu}`);
    });
  }

  test.serial('two dispatches when chunked, one when not; no tensor or GPU buffer left behind', async (t) => {
    const run = (c: Case) => {
      const { x, dy, dyShape } = inputs(c, 7);
      const xt = tf.tensor4d(x, c.x);
      const dyt = tf.tensor4d(dy, dyShape);
      const keys = programsDuring(() => {
        const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter };
        tf.dispose(tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy: dyt }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor);
      });
      tf.dispose([xt, dyt]);
      return keys;
    };
    t.deepEqual(run(cases[0]![1]), ['detkit_conv2d_filter_partial', 'detkit_conv2d_filter_sum']);
    t.deepEqual(run(cases[5]![1]), ['detkit_conv2d_filter_partial']);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = [tf.memory().numTensors, backend.numDataIds()];
    for (let i = 0; i < 3; i++) run(cases[0]![1]);
    t.deepEqual([tf.memory().numTensors, backend.numDataIds()], before);
  });
}
