/**
 * The fused LayerNorm on WebGPU (src/backend/webgpu/layer-norm.ts): forward and gradients
 * (x, weight, bias) against a float64 reference and against the composed ops on cpu, the
 * dispatch count of one forward + backward, no leaks, and the cpu path unchanged. Runs where an
 * adapter exists (SwiftShader here and in CI), otherwise skipped with the reason printed.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  LAYER_NORM_GRAD_BETA_KERNEL, LAYER_NORM_GRAD_GAMMA_KERNEL, LAYER_NORM_GRAD_X_KERNEL, LAYER_NORM_KERNEL, hasFusedLayerNorm,
} from '../src/backend/layer-norm.js';
import { registerTfjsGradients } from '../src/backend/gradients.js';
import { installWebGpuKernels } from '../src/backend/webgpu/install.js';
import { probeBackend, selectBackend } from '../src/backend/select-backend.js';
import { LayerNorm } from '../src/nn/index.js';
import { silentLogger } from '../src/util/logger.js';
import { randomValues } from './random-values.js';
import { errorsByKey, fmtErrors, onCpu, programsDuring } from './webgpu-compare.js';

const probe = await probeBackend('webgpu');
const TOL = 1e-5;

interface Case {
  shape: number[];
  x: Float32Array;
  weight: Float32Array;
  bias: Float32Array;
  dOut: Float32Array;
  eps: number;
}
interface Result {
  y: ArrayLike<number>;
  x: ArrayLike<number>;
  weight: ArrayLike<number>;
  bias: ArrayLike<number>;
}
const KEYS: Array<keyof Result> = ['y', 'x', 'weight', 'bias'];

/** Values `offset + spread * u` (u in [-1, 1)); weight around 1, bias and dOut in [-1, 1). */
function makeCase(shape: number[], seed: number, offset = 0, spread = 1, eps = 1e-5): Case {
  const n = shape.reduce((a, b) => a * b, 1);
  const C = shape[shape.length - 1]!;
  return {
    shape,
    x: randomValues(n, seed).map((u) => offset + spread * u),
    weight: randomValues(C, seed + 1).map((u) => 1 + 0.5 * u),
    bias: randomValues(C, seed + 2),
    dOut: randomValues(n, seed + 3),
    eps,
  };
}

/** y and the gradients of sum(y * dOut) in float64, from the float32 inputs. */
function reference(c: Case): Result {
  const C = c.shape[c.shape.length - 1]!;
  const rows = c.x.length / C;
  const y = new Float64Array(c.x.length);
  const dx = new Float64Array(c.x.length);
  const dw = new Float64Array(C);
  const db = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let mean = 0;
    for (let k = 0; k < C; k++) mean += c.x[o + k]!;
    mean /= C;
    let v = 0;
    for (let k = 0; k < C; k++) v += (c.x[o + k]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / C + c.eps);
    let a = 0;
    let b = 0;
    for (let k = 0; k < C; k++) {
      const xhat = (c.x[o + k]! - mean) * rstd;
      const g = c.dOut[o + k]!;
      y[o + k] = xhat * c.weight[k]! + c.bias[k]!;
      dw[k] += g * xhat;
      db[k] += g;
      a += g * c.weight[k]!;
      b += g * c.weight[k]! * xhat;
    }
    for (let k = 0; k < C; k++) {
      const xhat = (c.x[o + k]! - mean) * rstd;
      dx[o + k] = rstd * (c.dOut[o + k]! * c.weight[k]! - a / C - xhat * (b / C));
    }
  }
  return { y, x: dx, weight: dw, bias: db };
}

/** LayerNorm.forward and its gradients on the active backend. */
async function run(c: Case): Promise<Result> {
  const C = c.shape[c.shape.length - 1]!;
  const ln = new LayerNorm(C, { eps: c.eps });
  ln.weight!.assign(tf.tensor1d(c.weight));
  ln.bias!.assign(tf.tensor1d(c.bias));
  const x = tf.variable(tf.tensor(c.x, c.shape));
  const dOut = tf.tensor(c.dOut, c.shape);
  let y: tf.Tensor | undefined;
  // One tape: one forward, the three gradients.
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul((y = tf.keep(ln.forward(x))), dOut)), [x, ln.weight!, ln.bias!]);
  const outs = [y!, grads[x.name]!, grads[ln.weight!.name]!, grads[ln.bias!.name]!];
  const data = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
  tf.dispose([x, dOut, value, ...outs, ln.weight!, ln.bias!]);
  return { y: data[0]!, x: data[1]!, weight: data[2]!, bias: data[3]! };
}


const errors = (got: Result, want: Result) => errorsByKey(got, want, KEYS);
const fmt = fmtErrors;

test('cpu: LayerNorm.forward is the composed formula bit for bit (no fused kernel there)', async (t) => {
  await registerTfjsGradients();
  const prev = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    t.false(hasFusedLayerNorm('cpu'));
    const c = makeCase([2, 3, 8], 7);
    const ln = new LayerNorm(8);
    ln.weight!.assign(tf.tensor1d(c.weight));
    ln.bias!.assign(tf.tensor1d(c.bias));
    const x = tf.tensor(c.x, c.shape);
    const got = await ln.forward(x).data();
    // The formula LayerNorm used before the fused kernel existed.
    const { mean, variance } = tf.moments(x, [2], true);
    const want = await tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), ln.weight!), ln.bias!).data();
    t.deepEqual(Array.from(got), Array.from(want));
    const info = await tf.profile(() => ln.forward(x));
    tf.dispose(info.result as tf.Tensor);
    t.false(info.kernels.some((k) => k.name.startsWith('DetkitLayerNorm')), 'no fused kernel on cpu');
  } finally {
    if (prev) await tf.setBackend(prev);
  }
});

if (!probe.ok) {
  console.log(`webgpu LayerNorm tests skipped: ${probe.why}`);
  test.skip(`webgpu LayerNorm (skipped: ${probe.why.slice(0, 160)})`, () => {});
} else {
  test.before(async () => {
    await selectBackend({ backend: 'webgpu', logger: silentLogger });
  });

  const cases: Array<[string, Case]> = [
    ['[2,3,8]', makeCase([2, 3, 8], 11)],
    ['[300,32] (many rows)', makeCase([300, 32], 21)],
    ['[5,200] (rows longer than a workgroup)', makeCase([5, 200], 31)],
    ['[40,48] around 1000, spread 0.1 (large mean offset)', makeCase([40, 48], 41, 1000, 0.1)],
    // tfjs reshapes a dispatch of more than 65535 workgroups into a 2-D grid with padding workgroups.
    ['[70000,3] (more than 65535 rows: one workgroup per row, a reshaped dispatch)', makeCase([70000, 3], 61)],
  ];
  for (const [name, c] of cases) {
    test.serial(`${name}: forward and gradients (x, weight, bias) = float64 reference to 1e-5`, async (t) => {
      t.is(tf.getBackend(), 'webgpu');
      const got = await run(c);
      const ref = reference(c);
      const vsRef = errors(got, ref);
      const composed = await onCpu(() => run(c));
      const cpuVsRef = errors(composed, ref);
      const vsCpu = errors(got, composed);
      t.log(`webgpu vs float64: ${fmt(vsRef)}; composed ops on cpu vs float64: ${fmt(cpuVsRef)}; webgpu vs cpu: ${fmt(vsCpu)}`);
      for (const k of KEYS) t.true(vsRef[k] < TOL, `${k} vs reference: ${vsRef[k]}`);
      if (c.x[0]! < 100) for (const k of KEYS) t.true(vsCpu[k] < TOL, `${k} vs composed cpu: ${vsCpu[k]}`);
    });
  }

  test.serial('one LayerNorm forward + backward: 4 GPU dispatches (composed ops: many more), no leaks', async (t) => {
    const c = makeCase([6, 4, 16], 51);
    const ln = new LayerNorm(16);
    const x = tf.tensor(c.x, c.shape);
    const dOut = tf.tensor(c.dOut, c.shape);
    const dispatches = (f: () => void) => programsDuring(f).length;
    const step = (f: (x: tf.Tensor) => tf.Tensor) => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(x), dOut)), [ln.weight!, ln.bias!]);
      const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(f(xi), dOut)))(x);
      tf.dispose([value, dx, ...Object.values(grads)]);
    };
    const composed = (xi: tf.Tensor) => tf.tidy(() => {
      const { mean, variance } = tf.moments(xi, [2], true);
      return tf.add(tf.mul(tf.mul(tf.sub(xi, mean), tf.rsqrt(tf.add(variance, ln.eps))), ln.weight!), ln.bias!);
    });
    try {
      // Kernels of the fused path: forward once per tape, each gradient once.
      const info = await tf.profile(() => {
        tf.tidy(() => {
          const { grads } = tf.variableGrads(() => tf.sum(tf.mul(ln.forward(x), dOut)), [ln.weight!, ln.bias!]);
          return Object.values(grads);
        });
      });
      const names = info.kernels.map((k) => k.name);
      for (const k of [LAYER_NORM_KERNEL, LAYER_NORM_GRAD_GAMMA_KERNEL, LAYER_NORM_GRAD_BETA_KERNEL]) t.true(names.includes(k), `${k} in ${names.join(', ')}`);
      t.false(names.includes(LAYER_NORM_GRAD_X_KERNEL), 'no dx when x needs no gradient');
      // Exact: one forward and one backward of everything on one tape.
      const xv = tf.variable(x);
      const fusedAll = dispatches(() => tf.dispose(Object.values(tf.tidy(() => tf.variableGrads(() => tf.sum(ln.forward(xv)), [xv, ln.weight!, ln.bias!]).grads))));
      const composedAll = dispatches(() => tf.dispose(Object.values(tf.tidy(() => tf.variableGrads(() => tf.sum(composed(xv)), [xv, ln.weight!, ln.bias!]).grads))));
      const lossOnly = dispatches(() => tf.dispose(Object.values(tf.tidy(() => tf.variableGrads(() => tf.sum(xv), [xv]).grads))));
      xv.dispose();
      t.log(`one LayerNorm forward + backward (x, weight, bias): fused ${fusedAll - lossOnly} dispatches, composed ${composedAll - lossOnly} (less ${lossOnly} for the loss sum and its gradient)`);
      t.is(fusedAll - lossOnly, 4);
      t.true(composedAll - lossOnly > 20);
      // No leaks: the tensor count is flat over repeated forward + backward.
      step((xi) => ln.forward(xi));
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) step((xi) => ln.forward(xi));
      t.is(tf.memory().numTensors, before);
    } finally {
      tf.dispose([x, dOut]);
    }
  });

  test.serial('DETKIT_WEBGPU_FUSED=0 leaves the kernels out: LayerNorm takes the composed ops on webgpu', async (t) => {
    const names = [LAYER_NORM_KERNEL, LAYER_NORM_GRAD_X_KERNEL, LAYER_NORM_GRAD_GAMMA_KERNEL, LAYER_NORM_GRAD_BETA_KERNEL];
    const prev = process.env['DETKIT_WEBGPU_FUSED'];
    for (const k of names) tf.unregisterKernel(k, 'webgpu');
    process.env['DETKIT_WEBGPU_FUSED'] = '0';
    const ln = new LayerNorm(8);
    const x = tf.tensor(randomValues(24, 3), [3, 8]);
    try {
      const changed = installWebGpuKernels();
      t.false(changed.some((k) => k.startsWith('DetkitLayerNorm')), changed.join(', '));
      t.false(hasFusedLayerNorm('webgpu'));
      const info = await tf.profile(() => ln.forward(x));
      tf.dispose(info.result as tf.Tensor);
      const ran = info.kernels.map((k) => k.name);
      t.false(ran.some((k) => k.startsWith('DetkitLayerNorm')), ran.join(', '));
      t.true(ran.includes('Rsqrt'), ran.join(', '));
    } finally {
      if (prev === undefined) delete process.env['DETKIT_WEBGPU_FUSED'];
      else process.env['DETKIT_WEBGPU_FUSED'] = prev;
      installWebGpuKernels();
      tf.dispose([x, ln.weight!, ln.bias!]);
    }
    t.true(hasFusedLayerNorm('webgpu'), 'reinstalled');
  });
}
