/**
 * detkit's wasm kernels against the pure-JS cpu backend (and, where cpu has no dilation
 * support, against a float64 brute force written here from the definition).
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { scaledError } from '@detkit/core/testing';
import { randomValues, rand, setUpBothBackends, wasmVsCpu, runOn } from './backend-helpers.js';

const TOL = 1e-4;

test.before(setUpBothBackends);

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
}

/** Output size from the definition (independent of tfjs's conv_util). */
function outSize(inSize: number, f: number, s: number, d: number, pad: Pad, axis: 0 | 1): { out: number; before: number } {
  const eff = (f - 1) * d + 1;
  if (pad === 'valid') return { out: Math.floor((inSize - eff) / s) + 1, before: 0 };
  if (pad === 'same') {
    const out = Math.ceil(inSize / s);
    const total = Math.max(0, (out - 1) * s + eff - inSize);
    return { out, before: Math.floor(total / 2) };
  }
  const [b, a] = pad[axis + 1]!;
  return { out: Math.floor((inSize + b + a - eff) / s) + 1, before: b };
}

const convCases: ConvCase[] = [
  { x: [2, 9, 11, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: 'same' },
  { x: [2, 10, 7, 3], filter: [3, 3, 3, 5], strides: [2, 2], pad: 'same' },
  { x: [1, 8, 8, 2], filter: [3, 3, 2, 3], strides: [2, 2], pad: 'valid' },
  { x: [3, 7, 9, 4], filter: [2, 3, 4, 2], strides: [2, 1], pad: 'valid' },
  { x: [2, 6, 5, 3], filter: [3, 2, 3, 4], strides: [1, 2], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [2, 16, 16, 8], filter: [1, 1, 8, 6], strides: [2, 2], pad: 'same' },
];

function dyShape(c: ConvCase, outC: number, d = 1): number[] {
  const h = outSize(c.x[1], c.filter[0], c.strides[0], d, c.pad, 0).out;
  const w = outSize(c.x[2], c.filter[1], c.strides[1], d, c.pad, 1).out;
  return [c.x[0], h, w, outC];
}

for (const [i, c] of convCases.entries()) {
  test(`Conv2DBackpropFilter wasm = cpu, case ${i} ${JSON.stringify(c)}`, (t) => {
    const { error, shapes } = wasmVsCpu(() =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: rand(c.x, 1 + i), dy: rand(dyShape(c, c.filter[3]), 100 + i) }, {
        strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter,
      } as never) as tf.Tensor,
    );
    t.deepEqual(shapes[0], c.filter);
    t.true(error < TOL, `relative error ${error}`);
  });

  for (const mult of [1, 2]) {
    test(`DepthwiseConv2dNativeBackpropFilter wasm = cpu, case ${i}, multiplier ${mult}`, (t) => {
      const filterShape = [c.filter[0], c.filter[1], c.x[3], mult] as const;
      const { error, shapes } = wasmVsCpu(() =>
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: rand(c.x, 7 + i), dy: rand(dyShape(c, c.x[3] * mult), 70 + i) }, {
          strides: c.strides, pad: c.pad, dilations: [1, 1], filterShape,
        } as never) as tf.Tensor,
      );
      t.deepEqual(shapes[0], [...filterShape]);
      t.true(error < TOL, `relative error ${error}`);
    });
  }
}

/** dW from the definition, float64; `depthwise` pairs x channel c with dy channels c*mult+m. */
function bruteFilterGrad(
  x: Float32Array, xs: number[], dy: Float32Array, dys: number[], f: number[], s: number[], d: number[], before: number[], depthwise: boolean,
): Float64Array {
  const [n, h, w, c] = xs as [number, number, number, number];
  const [, oh, ow, oc] = dys as [number, number, number, number];
  const [fh, fw, , fo] = f as [number, number, number, number];
  const out = new Float64Array(fh * fw * c * fo);
  for (let i = 0; i < fh; i++) for (let j = 0; j < fw; j++) for (let ci = 0; ci < c; ci++) for (let o = 0; o < fo; o++) {
    const dyc = depthwise ? ci * fo + o : o;
    let sum = 0;
    for (let b = 0; b < n; b++) for (let p = 0; p < oh; p++) for (let q = 0; q < ow; q++) {
      const r = p * s[0]! + i * d[0]! - before[0]!;
      const col = q * s[1]! + j * d[1]! - before[1]!;
      if (r < 0 || r >= h || col < 0 || col >= w) continue;
      sum += x[((b * h + r) * w + col) * c + ci]! * dy[((b * oh + p) * ow + q) * oc + dyc]!;
    }
    out[((i * fw + j) * c + ci) * fo + o] = sum;
  }
  return out;
}

for (const pad of ['same', 'valid'] as const) {
  for (const depthwise of [false, true]) {
    test(`${depthwise ? 'depthwise' : 'conv2d'} filter gradient with dilation 2, ${pad}, against float64 brute force`, (t) => {
      const xs = [2, 11, 9, 3];
      const f = depthwise ? [3, 3, 3, 2] : [3, 2, 3, 4];
      const d = [2, 2];
      const s = [1, 1];
      const oh = outSize(xs[1]!, f[0]!, 1, 2, pad, 0);
      const ow = outSize(xs[2]!, f[1]!, 1, 2, pad, 1);
      const dys = [2, oh.out, ow.out, depthwise ? 6 : 4];
      const xv = randomValues(xs.reduce((a, b) => a * b), 11);
      const dyv = randomValues(dys.reduce((a, b) => a * b), 12);
      const kernel = depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter';
      const got = runOn('wasm', () =>
        tf.engine().runKernel(kernel, { x: tf.tensor(xv, xs), dy: tf.tensor(dyv, dys) }, {
          strides: s, pad, dilations: d, dataFormat: 'NHWC', filterShape: f,
        } as never) as tf.Tensor,
      );
      const want = bruteFilterGrad(xv, xs, dyv, dys, f, s, d, [oh.before, ow.before], depthwise);
      t.true(scaledError(got.values[0]!, want) < TOL, `relative error ${scaledError(got.values[0]!, want)}`);
    });
  }
}

test('UnsortedSegmentSum wasm = float64 brute force (repeats, empty segments, out-of-range ids dropped)', (t) => {
  const rows = 37;
  const rowShape = [3, 5];
  const numSegments = 9;
  const xv = randomValues(rows * 15, 3);
  const ids = Int32Array.from({ length: rows }, (_, r) => ((r * 7) % 11) - 1); // -1..9, 9 and -1 out of range
  const want = new Float64Array(numSegments * 15);
  for (let r = 0; r < rows; r++) {
    if (ids[r]! < 0 || ids[r]! >= numSegments) continue;
    for (let k = 0; k < 15; k++) want[ids[r]! * 15 + k]! += xv[r * 15 + k]!;
  }
  const got = runOn('wasm', () => tf.unsortedSegmentSum(tf.tensor(xv, [rows, ...rowShape]), tf.tensor1d(ids, 'int32'), numSegments));
  t.deepEqual(got.shapes[0], [numSegments, ...rowShape]);
  t.true(scaledError(got.values[0]!, want) < 1e-6);
});

test('UnsortedSegmentSum wasm = cpu', (t) => {
  const ids = Int32Array.from({ length: 50 }, (_, r) => (r * 13) % 17);
  const { error } = wasmVsCpu(() => tf.unsortedSegmentSum(rand([50, 8], 5), tf.tensor1d(ids, 'int32'), 17));
  t.true(error < TOL);
});

interface MatMulCase {
  a: number[];
  b: number[];
  ta: boolean;
  tb: boolean;
}
const matMulCases: MatMulCase[] = [];
for (const ta of [false, true]) {
  for (const tb of [false, true]) {
    const m = 13, k = 17, n = 11;
    const A = (batch: number[]) => [...batch, ...(ta ? [k, m] : [m, k])];
    const B = (batch: number[]) => [...batch, ...(tb ? [n, k] : [k, n])];
    matMulCases.push({ a: A([]), b: B([]), ta, tb });
    matMulCases.push({ a: A([3]), b: B([3]), ta, tb });
    matMulCases.push({ a: A([3]), b: B([1]), ta, tb });
    matMulCases.push({ a: A([1]), b: B([3]), ta, tb });
    matMulCases.push({ a: A([2, 3]), b: B([2, 3]), ta, tb });
    matMulCases.push({ a: [...A([]).map(() => 0)].length ? (ta ? [2, 1, 2] : [2, 2, 1]) : [], b: tb ? [2, 3, 1] : [2, 1, 3], ta, tb }); // tiny
  }
}

for (const [i, c] of matMulCases.entries()) {
  test(`BatchMatMul wasm = cpu: a${JSON.stringify(c.a)} b${JSON.stringify(c.b)} transposeA=${c.ta} transposeB=${c.tb}`, (t) => {
    const { error } = wasmVsCpu(() => tf.matMul(rand(c.a, 20 + i), rand(c.b, 40 + i), c.ta, c.tb));
    t.true(error < TOL, `relative error ${error}`);
  });
}

for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
  test(`_FusedMatMul (bias + relu) wasm = cpu, batch of a against shared b, transposeA=${ta} transposeB=${tb}`, (t) => {
    const { error } = wasmVsCpu(() =>
      tf.fused.matMul({
        a: rand(ta ? [4, 9, 6] : [4, 6, 9], 1),
        b: rand(tb ? [1, 5, 9] : [1, 9, 5], 2),
        transposeA: ta,
        transposeB: tb,
        bias: rand([5], 3),
        activation: 'relu',
      }),
    );
    t.true(error < TOL, `relative error ${error}`);
  });
}

test('gradients through conv2d (stride 2, same) on wasm = cpu', (t) => {
  const { error } = wasmVsCpu(() => {
    const x = rand([2, 9, 8, 3], 1) as tf.Tensor4D;
    const w = rand([3, 3, 3, 4], 2) as tf.Tensor4D;
    const up = rand([2, 5, 4, 4], 3);
    const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, 'same'), up)));
    return g([x, w]);
  });
  t.true(error < TOL, `relative error ${error}`);
});

test('gradients through depthwiseConv2d (multiplier 2, stride 2, valid) on wasm = cpu', (t) => {
  const { error } = wasmVsCpu(() => {
    const x = rand([2, 9, 8, 3], 4) as tf.Tensor4D;
    const w = rand([3, 3, 3, 2], 5) as tf.Tensor4D;
    const up = rand([2, 4, 3, 6], 6);
    const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
      tf.sum(tf.mul(tf.depthwiseConv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, 'valid'), up)),
    );
    return g([x, w]);
  });
  t.true(error < TOL, `relative error ${error}`);
});

for (const axis of [0, 1]) {
  test(`gradient through gather (axis ${axis}, repeated indices) on wasm = cpu`, (t) => {
    const { error } = wasmVsCpu(() => {
      const table = rand([7, 6, 5], 7);
      const idx = tf.tensor1d([0, 3, 3, 5, 1, 0, 2, 5, 5], 'int32');
      const up = rand(axis === 0 ? [9, 6, 5] : [7, 9, 5], 8);
      return tf.grad((tb: tf.Tensor) => tf.sum(tf.mul(tf.gather(tb, idx, axis), up)))(table);
    });
    t.true(error < TOL, `relative error ${error}`);
  });
}

for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
  test(`gradients through batched matMul (transposeA=${ta}, transposeB=${tb}) on wasm = cpu`, (t) => {
    const { error } = wasmVsCpu(() => {
      const a = rand(ta ? [3, 12, 10] : [3, 10, 12], 9);
      const b = rand(tb ? [3, 8, 12] : [3, 12, 8], 10);
      const up = rand([3, 10, 8], 11);
      return tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), up)))([a, b]);
    });
    t.true(error < TOL, `relative error ${error}`);
  });
}

test('the wasm kernels leak neither tensors nor wasm heap buffers', (t) => {
  tf.setBackend('wasm');
  const step = () =>
    tf.tidy(() => {
      const x = rand([2, 8, 8, 3], 1) as tf.Tensor4D;
      const w = rand([3, 3, 3, 4], 2) as tf.Tensor4D;
      const dw = rand([3, 3, 3, 2], 3) as tf.Tensor4D;
      const table = rand([6, 4], 4);
      const f = (xx: tf.Tensor, ww: tf.Tensor, dd: tf.Tensor, tt: tf.Tensor) => {
        const y = tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, 'same');
        const z = tf.depthwiseConv2d(xx as tf.Tensor4D, dd as tf.Tensor4D, 1, 'same');
        const flat = tf.reshape(y, [8, 16]);
        const att = tf.matMul(flat, flat, false, true);
        const batched = tf.matMul(tf.reshape(y, [2, 16, 4]), tf.reshape(y, [2, 16, 4]), true, false);
        const emb = tf.gather(tt, tf.tensor1d([1, 1, 5], 'int32'));
        return tf.addN([tf.sum(att), tf.sum(batched), tf.sum(z), tf.sum(emb)]);
      };
      const grads = tf.grads(f)([x, w, dw, table]);
      tf.fused.matMul({ a: rand([2, 3, 4], 5), b: rand([1, 5, 4], 6), transposeB: true, bias: rand([5], 7) });
      return grads.map((g) => tf.sum(g).dataSync()[0]);
    });
  step();
  const tensors = tf.memory().numTensors;
  const buffers = tf.engine().backend.numDataIds();
  for (let i = 0; i < 3; i++) step();
  t.is(tf.memory().numTensors, tensors);
  t.is(tf.engine().backend.numDataIds(), buffers);
});

for (const [i, c] of convCases.entries()) {
  for (const mult of [1, 2]) {
    test(`DepthwiseConv2dNativeBackpropInput wasm = cpu, case ${i}, multiplier ${mult}`, (t) => {
      const filterShape = [c.filter[0], c.filter[1], c.x[3], mult];
      const { error, shapes } = wasmVsCpu(() =>
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: rand(dyShape(c, c.x[3] * mult), 30 + i), filter: rand(filterShape, 60 + i) }, {
          strides: c.strides, pad: c.pad, dilations: [1, 1], inputShape: c.x,
        } as never) as tf.Tensor,
      );
      t.deepEqual(shapes[0], [...c.x]);
      t.true(error < TOL, `relative error ${error}`);
    });
  }
}

for (const [i, c] of convCases.entries()) {
  for (const format of ['NHWC', 'NCHW'] as const) {
    test(`Conv2DBackpropInput wasm = cpu, case ${i}, ${format}`, (t) => {
      const toFormat = (s: number[]) => (format === 'NHWC' ? s : [s[0]!, s[3]!, s[1]!, s[2]!]);
      const { error, shapes } = wasmVsCpu(() =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy: rand(toFormat(dyShape(c, c.filter[3])), 80 + i), filter: rand(c.filter, 90 + i) }, {
          strides: c.strides, pad: Array.isArray(c.pad) ? toFormat(c.pad as never) : c.pad, dataFormat: format, inputShape: toFormat(c.x),
        } as never) as tf.Tensor,
      );
      t.deepEqual(shapes[0], toFormat(c.x));
      t.true(error < TOL, `relative error ${error}`);
    });
  }
}

test('Conv2DBackpropFilter wasm = cpu with NCHW data and explicit NCHW padding', (t) => {
  const { error } = wasmVsCpu(() =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x: rand([2, 3, 6, 5], 1), dy: rand([2, 4, 4, 3], 2) }, {
      strides: [2, 2], pad: [[0, 0], [0, 0], [1, 2], [0, 1]], dataFormat: 'NCHW', filterShape: [3, 2, 3, 4],
    } as never) as tf.Tensor,
  );
  t.true(error < TOL, `relative error ${error}`);
});
