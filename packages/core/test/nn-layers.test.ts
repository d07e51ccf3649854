import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTfjsGradients } from '../src/backend/gradients.js';
import {
  BatchNorm2d, Conv2d, Dropout, Embedding, LayerNorm, Linear, MLP, Module,
  setLinearMatmulMode, gelu, inverseSigmoid, getActivation,
  detkitStateDictToTorch, torchStateDictToDetkit,
} from '../src/nn/index.js';
import { gradCheck, maxAbsDiff } from '@detkit/core/testing';
import { randArray, randTensor } from './random-inputs.js';

test.before(async () => {
  await registerTfjsGradients(); // tfjs-core alone registers no op gradients
  await tf.setBackend('cpu');
});

/** float64 reference: y[n,o] = sum_i x[n,i] w[o,i] + b[o]. */
function linearRef(x: number[], w: number[], b: number[], n: number, inF: number, outF: number): number[] {
  const y: number[] = [];
  for (let r = 0; r < n; r++) for (let o = 0; o < outF; o++) {
    let s = b[o]!;
    for (let i = 0; i < inF; i++) s += x[r * inF + i]! * w[o * inF + i]!;
    y.push(s);
  }
  return y;
}

test('Linear forward (rank 2 and 3) matches float64 reference; names mirror torch', (t) => {
  const lin = new Linear(5, 3, { seed: 1 });
  t.deepEqual([...lin.stateDict().keys()], ['weight', 'bias']);
  t.deepEqual(lin.weight.shape, [3, 5]);
  const xs = randArray(2 * 4 * 5, 7);
  const ref = linearRef(xs, [...lin.weight.dataSync()], [...lin.bias!.dataSync()], 8, 5, 3);
  const y3 = tf.tidy(() => lin.forward(tf.tensor(xs, [2, 4, 5])));
  t.deepEqual(y3.shape, [2, 4, 3]);
  t.true(maxAbsDiff(y3.dataSync(), ref) < 1e-5);
  const y2 = tf.tidy(() => lin.forward(tf.tensor(xs, [8, 5])));
  t.true(maxAbsDiff(y2.dataSync(), ref) < 1e-5);
  tf.dispose([y2, y3]);
  lin.dispose();
});

test('Linear gradients (input, weight, bias) match finite differences; both matmul modes agree', (t) => {
  const lin = new Linear(4, 3, { seed: 2 });
  const x = tf.variable(randTensor([2, 3, 4], 3));
  const r = randTensor([2, 3, 3], 4);
  const loss = () => tf.sum(tf.mul(lin.forward(x), r)) as tf.Scalar;
  for (const mode of ['explicit', 'flags'] as const) {
    setLinearMatmulMode(mode);
    const worst = gradCheck(loss, { x, weight: lin.weight, bias: lin.bias! });
    for (const [k, v] of Object.entries(worst)) t.true(v < 2e-3, `${mode} ${k}: ${v}`);
  }
  // Gradient shapes: no batch dim leaked into the weight gradient (tfjs broadcast bug).
  setLinearMatmulMode('explicit');
  const a = tf.variableGrads(loss, [x, lin.weight]);
  setLinearMatmulMode('flags');
  const b = tf.variableGrads(loss, [x, lin.weight]);
  setLinearMatmulMode('auto');
  t.deepEqual(a.grads[lin.weight.name]!.shape, [3, 4]);
  t.true(maxAbsDiff(a.grads[lin.weight.name]!.dataSync(), b.grads[lin.weight.name]!.dataSync()) < 1e-5);
  t.true(maxAbsDiff(a.grads[x.name]!.dataSync(), b.grads[x.name]!.dataSync()) < 1e-5);
  tf.dispose([a.value, b.value, r, x, ...Object.values(a.grads), ...Object.values(b.grads)]);
  lin.dispose();
});

/** float64 NHWC conv with weight [kh, kw, in, out], symmetric zero padding. */
function convRef(x: number[], [n, h, w, c]: number[], wt: number[], [kh, kw, , o]: number[], b: number[], stride: number, pad: number, dil: number): { y: number[]; shape: number[] } {
  const oh = Math.floor((h + 2 * pad - dil * (kh - 1) - 1) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - dil * (kw - 1) - 1) / stride) + 1;
  const y: number[] = [];
  for (let ni = 0; ni < n!; ni++) for (let yi = 0; yi < oh; yi++) for (let xi = 0; xi < ow; xi++) for (let oi = 0; oi < o!; oi++) {
    let s = b[oi]!;
    for (let ki = 0; ki < kh!; ki++) for (let kj = 0; kj < kw!; kj++) {
      const iy = yi * stride - pad + ki * dil;
      const ix = xi * stride - pad + kj * dil;
      if (iy < 0 || ix < 0 || iy >= h! || ix >= w!) continue;
      for (let ci = 0; ci < c!; ci++) s += x[((ni * h! + iy) * w! + ix) * c! + ci]! * wt[((ki * kw! + kj) * c! + ci) * o! + oi]!;
    }
    y.push(s);
  }
  return { y, shape: [n!, oh, ow, o!] };
}

for (const [stride, pad, dil] of [[1, 1, 1], [2, 1, 1], [1, 2, 2], [2, 0, 1]] as const) {
  test(`Conv2d forward stride=${stride} pad=${pad} dilation=${dil} matches float64 reference`, (t) => {
    const conv = new Conv2d(3, 4, 3, { stride, padding: pad, dilation: dil, seed: 5 });
    const xs = randArray(2 * 7 * 6 * 3, 9);
    const ref = convRef(xs, [2, 7, 6, 3], [...conv.weight.dataSync()], conv.weight.shape, [...conv.bias!.dataSync()], stride, pad, dil);
    const y = tf.tidy(() => conv.forward(tf.tensor4d(xs, [2, 7, 6, 3])));
    t.deepEqual(y.shape, ref.shape);
    t.true(maxAbsDiff(y.dataSync(), ref.y) < 1e-5);
    y.dispose();
    conv.dispose();
  });
}

test("Conv2d 'same' keeps spatial size; weight is [kh,kw,in,out] named weight/bias", (t) => {
  const conv = new Conv2d(2, 3, [3, 3], { padding: 'same', seed: 1 });
  t.deepEqual(conv.weight.shape, [3, 3, 2, 3]);
  t.deepEqual([...conv.stateDict().keys()], ['weight', 'bias']);
  const xs = randArray(1 * 5 * 5 * 2, 2);
  const y = tf.tidy(() => conv.forward(tf.tensor4d(xs, [1, 5, 5, 2])));
  const ref = convRef(xs, [1, 5, 5, 2], [...conv.weight.dataSync()], conv.weight.shape, [...conv.bias!.dataSync()], 1, 1, 1);
  t.true(maxAbsDiff(y.dataSync(), ref.y) < 1e-5);
  y.dispose();
  conv.dispose();
  t.throws(() => new Conv2d(2, 3, 3, { stride: 2, dilation: 2 }), { message: /stride > 1 or dilation > 1/ });
});

test('Conv2d gradients (input, weight, bias) match finite differences, with stride and padding', (t) => {
  const conv = new Conv2d(2, 3, 3, { stride: 2, padding: 1, seed: 6 });
  const x = tf.variable(randTensor([2, 5, 5, 2], 8)) as tf.Variable<tf.Rank.R4>;
  const r = tf.tidy(() => randTensor(conv.forward(x).shape, 10));
  const loss = () => tf.sum(tf.mul(conv.forward(x), r)) as tf.Scalar;
  const worst = gradCheck(loss, { x, weight: conv.weight, bias: conv.bias! });
  for (const [k, v] of Object.entries(worst)) t.true(v < 2e-3, `${k}: ${v}`);
  tf.dispose([x, r]);
  conv.dispose();
});

/** float64 per-channel mean and biased variance of NHWC data. */
function channelStats(x: number[], c: number): { mean: number[]; varB: number[]; n: number } {
  const n = x.length / c;
  const mean = Array<number>(c).fill(0);
  const varB = Array<number>(c).fill(0);
  x.forEach((v, i) => (mean[i % c]! += v / n));
  x.forEach((v, i) => (varB[i % c]! += (v - mean[i % c]!) ** 2 / n));
  return { mean, varB, n };
}

test('BatchNorm2d training: batch stats forward, running stats updated like PyTorch; eval uses running stats', (t) => {
  const bn = new BatchNorm2d(3, { momentum: 0.1 });
  t.deepEqual([...bn.stateDict().keys()], ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  bn.weight!.assign(tf.tensor1d([1.5, -0.5, 2]));
  bn.bias!.assign(tf.tensor1d([0.1, 0.2, -0.3]));
  const xs = randArray(2 * 3 * 4 * 3, 11).map((v, i) => v * (1 + (i % 3)) + (i % 3));
  const { mean, varB, n } = channelStats(xs, 3);
  const w = [1.5, -0.5, 2];
  const b = [0.1, 0.2, -0.3];
  const ref = xs.map((v, i) => ((v - mean[i % 3]!) / Math.sqrt(varB[i % 3]! + 1e-5)) * w[i % 3]! + b[i % 3]!);
  const y = tf.tidy(() => bn.forward(tf.tensor4d(xs, [2, 3, 4, 3])));
  t.true(maxAbsDiff(y.dataSync(), ref) < 1e-4);
  t.true(maxAbsDiff(bn.runningMean.dataSync(), mean.map((m) => 0.1 * m)) < 1e-5);
  t.true(maxAbsDiff(bn.runningVar.dataSync(), varB.map((v) => 0.9 + 0.1 * v * (n / (n - 1)))) < 1e-5);
  t.is(bn.numBatchesTracked.dataSync()[0], 1);

  bn.eval();
  const rm = [...bn.runningMean.dataSync()];
  const rv = [...bn.runningVar.dataSync()];
  const yEval = tf.tidy(() => bn.forward(tf.tensor4d(xs, [2, 3, 4, 3])));
  const refEval = xs.map((v, i) => ((v - rm[i % 3]!) / Math.sqrt(rv[i % 3]! + 1e-5)) * w[i % 3]! + b[i % 3]!);
  t.true(maxAbsDiff(yEval.dataSync(), refEval) < 1e-4);
  t.deepEqual([...bn.runningMean.dataSync()], rm, 'eval does not update running stats');
  tf.dispose([y, yEval]);
  bn.dispose();
});

test('BatchNorm2d frozen: running stats even in training mode, no trainable params, stats untouched', (t) => {
  const bn = new BatchNorm2d(2);
  bn.runningMean.assign(tf.tensor1d([0.5, -1]));
  bn.runningVar.assign(tf.tensor1d([4, 0.25]));
  bn.train().freeze();
  t.deepEqual(bn.trainableParameters(), []);
  t.false(bn.usesBatchStats);
  const xs = randArray(1 * 2 * 2 * 2, 3);
  const y = tf.tidy(() => bn.forward(tf.tensor4d(xs, [1, 2, 2, 2])));
  const ref = xs.map((v, i) => (v - [0.5, -1][i % 2]!) / Math.sqrt([4, 0.25][i % 2]! + 1e-5));
  t.true(maxAbsDiff(y.dataSync(), ref) < 1e-5);
  t.deepEqual([...bn.runningMean.dataSync()], [0.5, -1]);
  y.dispose();
  bn.dispose();
});

test('BatchNorm2d gradients in training mode match finite differences; no leaks inside a tape', (t) => {
  const bn = new BatchNorm2d(3);
  tf.tidy(() => {
    bn.weight!.assign(tf.tensor1d([1.2, 0.7, -0.9]));
    bn.bias!.assign(tf.tensor1d([0.3, -0.1, 0.05]));
  });
  const x = tf.variable(randTensor([2, 3, 2, 3], 12)) as tf.Variable<tf.Rank.R4>;
  const r = randTensor([2, 3, 2, 3], 13);
  const loss = () => tf.sum(tf.mul(bn.forward(x), r)) as tf.Scalar;
  const worst = gradCheck(loss, { x, weight: bn.weight!, bias: bn.bias! }, { eps: 1e-2 });
  for (const [k, v] of Object.entries(worst)) t.true(v < 5e-3, `${k}: ${v}`);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const { value, grads } = tf.variableGrads(loss, [x, bn.weight!, bn.bias!]);
    tf.dispose([value, ...Object.values(grads)]);
  }
  t.is(tf.memory().numTensors, before);
  tf.dispose([x, r]);
  bn.dispose();
});

test('LayerNorm forward matches float64 reference and gradients match finite differences', (t) => {
  const ln = new LayerNorm(4);
  tf.tidy(() => {
    ln.weight!.assign(tf.tensor1d([1, 2, -1, 0.5]));
    ln.bias!.assign(tf.tensor1d([0, 0.1, 0.2, 0.3]));
  });
  const xs = randArray(3 * 4, 14);
  const ref: number[] = [];
  for (let r = 0; r < 3; r++) {
    const row = xs.slice(r * 4, r * 4 + 4);
    const m = row.reduce((a, b) => a + b) / 4;
    const v = row.reduce((a, b) => a + (b - m) ** 2, 0) / 4;
    row.forEach((e, i) => ref.push(((e - m) / Math.sqrt(v + 1e-5)) * [1, 2, -1, 0.5][i]! + [0, 0.1, 0.2, 0.3][i]!));
  }
  const y = tf.tidy(() => ln.forward(tf.tensor(xs, [3, 4])));
  t.true(maxAbsDiff(y.dataSync(), ref) < 1e-5);
  y.dispose();
  const x = tf.variable(randTensor([2, 2, 4], 15));
  const r = randTensor([2, 2, 4], 16);
  const worst = gradCheck(() => tf.sum(tf.mul(ln.forward(x), r)) as tf.Scalar, { x, weight: ln.weight!, bias: ln.bias! });
  for (const [k, v] of Object.entries(worst)) t.true(v < 5e-3, `${k}: ${v}`);
  tf.dispose([x, r]);
  ln.dispose();
});

test('Embedding gathers rows of weight', (t) => {
  const emb = new Embedding(5, 3, { seed: 1 });
  const w = emb.weight.arraySync();
  const y = tf.tidy(() => emb.forward(tf.tensor2d([[4, 0], [2, 2]], [2, 2], 'int32')));
  t.deepEqual(y.shape, [2, 2, 3]);
  t.deepEqual(y.arraySync(), [[w[4], w[0]], [w[2], w[2]]]);
  y.dispose();
  t.throws(() => emb.forward(tf.tensor1d([1])), { message: /int32/ });
  emb.dispose();
});

test('Dropout: identity in eval; in training zeros or scales by 1/(1-p), reproducible from the seed', (t) => {
  const x = tf.ones([2000]);
  const d1 = new Dropout(0.25, 42);
  const d2 = new Dropout(0.25, 42);
  t.is(d1.eval().forward(x), x);
  d1.train();
  const a = tf.tidy(() => d1.forward(x)).dataSync();
  const b = tf.tidy(() => d2.forward(x)).dataSync();
  t.deepEqual([...a], [...b]);
  t.true([...a].every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
  const dropped = [...a].filter((v) => v === 0).length / a.length;
  t.true(Math.abs(dropped - 0.25) < 0.05, `dropped fraction ${dropped}`);
  const c = tf.tidy(() => d1.forward(x)).dataSync();
  t.notDeepEqual([...a], [...c], 'each call draws a new mask');
  x.dispose();
});

test('MLP matches chained linear+relu; torch-style names; freeze removes from trainableParameters', (t) => {
  const mlp = new MLP(4, 6, 2, 3, { seed: 3 });
  t.deepEqual([...mlp.stateDict().keys()], ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias']);
  const xs = randArray(5 * 4, 17);
  let h = xs;
  const dims = [4, 6, 6, 2];
  mlp.layers.forEach((l, i) => {
    h = linearRef(h, [...l.weight.dataSync()], [...l.bias!.dataSync()], 5, dims[i]!, dims[i + 1]!);
    if (i < 2) h = h.map((v) => Math.max(0, v));
  });
  const y = tf.tidy(() => mlp.forward(tf.tensor(xs, [5, 4])));
  t.true(maxAbsDiff(y.dataSync(), h) < 1e-5);
  y.dispose();

  class Net extends Module {
    backbone = this.module('backbone', new MLP(2, 2, 2, 2, { seed: 1 }));
    head = this.module('head', new Linear(2, 1, { seed: 2 }));
  }
  const net = new Net();
  t.is(net.trainableParameters().length, 6);
  net.backbone.freeze();
  t.deepEqual(net.trainableParameters().map(([n]) => n), ['head.weight', 'head.bias']);
  net.dispose();
  mlp.dispose();
});

test('init is reproducible from a seed and follows PyTorch bounds', (t) => {
  const a = new Linear(16, 8, { seed: 9 });
  const b = new Linear(16, 8, { seed: 9 });
  t.deepEqual([...a.weight.dataSync()], [...b.weight.dataSync()]);
  const bound = 1 / Math.sqrt(16);
  t.true([...a.weight.dataSync()].every((v) => Math.abs(v) <= bound));
  t.true(Math.max(...[...a.weight.dataSync()].map(Math.abs)) > 0.8 * bound);
  a.dispose();
  b.dispose();
});

test('activations: gelu (tanh approx) and inverseSigmoid against float64', (t) => {
  const xs = [-3, -1, -0.1, 0, 0.5, 2];
  const g = tf.tidy(() => gelu(tf.tensor1d(xs)).dataSync());
  const ref = xs.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
  t.true(maxAbsDiff(g, ref) < 1e-5);
  const ps = [0.1, 0.5, 0.9];
  const inv = tf.tidy(() => inverseSigmoid(tf.tensor1d(ps)).dataSync());
  t.true(maxAbsDiff(inv, ps.map((p) => Math.log(p / (1 - p)))) < 1e-4);
  t.throws(() => getActivation('nope'), { message: /known: relu/ });
});

test('torch <-> detkit state dicts: Conv2d weights transposed, others passed through; torch-layout conv matches', (t) => {
  class Net extends Module {
    conv = this.module('conv', new Conv2d(2, 3, [3, 2], { seed: 4 }));
    bn = this.module('bn', new BatchNorm2d(3));
    fc = this.module('fc', new Linear(3, 1, { seed: 5 }));
  }
  const net = new Net();
  const torchSd = detkitStateDictToTorch(net, net.stateDict());
  t.deepEqual(torchSd.get('conv.weight')!.shape, [3, 2, 3, 2], '[out, in, kh, kw]');
  t.is(torchSd.get('fc.weight'), net.fc.weight);
  // Brute force with the torch layout: w[o][i][ki][kj] must equal hwio w[ki][kj][i][o].
  const wt = torchSd.get('conv.weight')!.arraySync() as number[][][][];
  const wh = net.conv.weight.arraySync();
  let d = 0;
  for (let o = 0; o < 3; o++) for (let i = 0; i < 2; i++) for (let a = 0; a < 3; a++) for (let b = 0; b < 2; b++) d = Math.max(d, Math.abs(wt[o]![i]![a]![b]! - wh[a]![b]![i]![o]!));
  t.is(d, 0);
  const back = torchStateDictToDetkit(net, torchSd);
  const net2 = new Net();
  net2.loadStateDict(back, { source: 'torch' });
  t.deepEqual([...net2.conv.weight.dataSync()], [...net.conv.weight.dataSync()]);
  tf.dispose([torchSd.get('conv.weight')!, back.get('conv.weight')!]);
  net.dispose();
  net2.dispose();
});
