// Correctness of the webgpu backend on the adapter at hand, at full model size: one training
// step (forward, asynchronous matching read, backward) of the DAB-DETR student and teacher and
// the Deformable DETR and DINO students at batch 8 of 64x64, from identical weights and batch,
// on webgpu and on tfjs's cpu backend (plain JavaScript kernels, none of detkit's WGSL). Prints
// each model's loss terms and the scaled error of every parameter's gradient, worst first; then
// the filter gradient of a backbone stem at batch 32 of 256x256, the case the split
// Conv2DBackpropFilter (packages/core/src/backend/webgpu/conv-filter.ts) was written for.
// The test suite checks the same on SwiftShader with small models; this runs the shipped
// configs on a real GPU (bash bench/gpu-host.sh parity on a bare GPU host).
//   npm run bench -- gpu-parity
// Exits non-zero (section failed) when a loss term or a gradient is off by more than PARITY_TOL
// (default 1e-2 of the gradient's largest magnitude, or of a millionth of the model's largest
// gradient where that is more; see TOL).
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  computeGradients, createRegistry, createServices, selectBackend, silentLogger, validateConfig, webGpuAdapter,
  type TrainableModel,
} from '@detkit/core';
import { scaledError } from '@detkit/core/testing';
import { registerDetectors } from '@detkit/detectors';
import { DAB_CONFIGS, MORE_CONFIGS, lossSteps, syntheticBatch } from './gpu-models.js';

type Model = TrainableModel & { namedParameters(): Array<[string, tf.Variable]>; trainableParameters(): Array<[string, tf.Variable]>; dispose(): void };

// 1% of each gradient's scale: a kernel bug (an index, a missing term) is off by O(1), while
// float32 rounding over a full model's backward reached 1.7e-3 on SwiftShader (the DAB-DETR
// student's first encoder FFN and backbone, gradients ~1000x smaller than the heads').
const TOL = Number(process.env['PARITY_TOL'] ?? 1e-2);

const CONFIGS = [...DAB_CONFIGS, ...MORE_CONFIGS];

interface StepValues {
  losses: Record<string, number>;
  grads: Map<string, Float32Array>;
}

/** Builds the model on the active backend; `weights` (from another backend) replace its initialisation. */
async function buildModel(name: string, raw: unknown, weights?: Map<string, Float32Array>): Promise<Model> {
  const config = validateConfig(raw, `bench gpu-parity: ${name}`);
  const registry = createRegistry(createServices({ logger: silentLogger, seed: config.seed, backend: tf.getBackend() }).services);
  registerDetectors(registry.pluginContext('@detkit/detectors'));
  const model = await registry.build<Model>('detector', config.model);
  if (weights) tf.tidy(() => model.namedParameters().forEach(([n, v]) => v.assign(tf.tensor(weights.get(n)!, v.shape))));
  model.train();
  return model;
}

async function hostParams(model: Model): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [n, v] of model.namedParameters()) out.set(n, ((await v.data()) as Float32Array).slice());
  return out;
}

/**
 * Gives parameters that are all zero (the box heads' last layers, zero-initialised as in
 * Deformable DETR) values of ~1e-4, in place; returns how many. With those layers at zero, DINO's
 * anchors are its encoder proposals exactly, at grid-cell centres, so the decoder samples exactly
 * at pixel centres. There bilinear sampling has a kink, so a gradient with respect to the
 * sampling offsets is one of two one-sided derivatives, picked by float32 rounding, which
 * differs between backends. PARITY_JITTER=0 leaves the weights as initialised.
 */
function jitterZeroParameters(weights: Map<string, Float32Array>): number {
  if (process.env['PARITY_JITTER'] === '0') return 0;
  let s = 11;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5);
  let n = 0;
  for (const w of weights.values()) {
    if (w.some((x) => x !== 0)) continue;
    for (let i = 0; i < w.length; i++) w[i] = 2e-4 * r();
    n++;
  }
  return n;
}

/** Loss terms and every parameter's gradient of one step, read to the host. */
async function oneStep(model: Model): Promise<StepValues> {
  const batch = syntheticBatch(8, 64, 1);
  try {
    const computed = await computeGradients(model.trainableParameters(), () => lossSteps(model, batch));
    try {
      const values = (await computed.readout.data()) as Float32Array;
      const losses = Object.fromEntries([...computed.names, 'total'].map((n, i) => [n, values[i]!]));
      const grads = new Map<string, Float32Array>();
      for (const [n, g] of computed.grads) grads.set(n, (await g.data()) as Float32Array);
      return { losses, grads };
    } finally {
      computed.readout.dispose();
      computed.grads.forEach((g) => g.dispose());
    }
  } finally {
    tf.dispose([batch.images, batch.masks]);
  }
}

/** The same step on webgpu and on cpu from the webgpu model's initial weights. */
async function compareModel(name: string, raw: unknown): Promise<string[]> {
  await selectBackend({ backend: 'webgpu', logger: silentLogger });
  const built = await buildModel(name, raw);
  const weights = await hostParams(built);
  const jittered = jitterZeroParameters(weights);
  built.dispose();
  const gpuModel = await buildModel(name, raw, weights);
  const gpu = await oneStep(gpuModel);
  gpuModel.dispose();
  await selectBackend({ backend: 'cpu', logger: silentLogger });
  const cpuModel = await buildModel(name, raw, weights);
  const t0 = performance.now();
  const cpu = await oneStep(cpuModel);
  const cpuMs = performance.now() - t0;
  cpuModel.dispose();

  const failures: string[] = [];
  const lossErr = Object.entries(cpu.losses).map(([k, v]): [string, number] => [k, Math.abs((gpu.losses[k] ?? NaN) - v) / Math.max(Math.abs(v), 1e-3)]);
  const maxAbs = (v: Float32Array | undefined) => (v ? v.reduce((m, x) => Math.max(m, Math.abs(x)), 0) : NaN);
  const globalMax = Math.max(...[...cpu.grads.values()].map(maxAbs));
  // A gradient that is zero in exact arithmetic (at initialisation, DAB-DETR's first decoder
  // layer's self-attention projections: ~1e-11 against a largest gradient of ~5) is rounding
  // noise on both backends: errors are scaled by at least a millionth of the largest gradient.
  const floor = 1e-6 * globalMax;
  const gradErr = [...cpu.grads].map(([k, v]): [string, number] => [k, gpu.grads.has(k) ? scaledError(gpu.grads.get(k)!, v, floor) : Infinity]).sort((a, b) => b[1] - a[1]);
  const worstLoss = lossErr.reduce((a, b) => (b[1] > a[1] ? b : a), ['-', 0] as [string, number]);
  console.log(`\n${name}: ${lossErr.length} loss terms, ${gradErr.length} gradients (cpu step ${(cpuMs / 1000).toFixed(1)} s)${jittered > 0 ? `; ${jittered} all-zero parameters jittered` : ''}`);
  console.log(`  worst loss term: ${worstLoss[0]} ${worstLoss[1].toExponential(2)}; total loss ${gpu.losses['total']} (webgpu) vs ${cpu.losses['total']} (cpu)`);
  console.log(`  largest |gradient| (cpu) ${globalMax.toExponential(2)}; errors scaled by at least ${floor.toExponential(1)}`);
  console.log(`  worst gradients (scaled error; max |g| on cpu, on webgpu): ${gradErr.slice(0, 8).map(([k, e]) => `${k} ${e.toExponential(2)} (${maxAbs(cpu.grads.get(k)).toExponential(2)}, ${maxAbs(gpu.grads.get(k)).toExponential(2)})`).join(', ')}`);
  const median = gradErr[gradErr.length >> 1]![1];
  const over = (t: number) => `${gradErr.filter(([, e]) => e > t).length} gradients, ${lossErr.filter(([, e]) => e > t).length} loss terms`;
  console.log(`  median gradient error ${median.toExponential(2)}; over 1e-3: ${over(1e-3)}; over ${TOL}: ${over(TOL)}`);
  for (const [k, e] of lossErr) if (!(e <= TOL)) failures.push(`${name}: loss ${k} off by ${e.toExponential(2)}`);
  for (const [k, e] of gradErr) if (!(e <= TOL)) failures.push(`${name}: gradient ${k} off by ${e.toExponential(2)}`);
  return failures;
}

/** A ResNet stem's filter gradient (3x3, 3 -> 32, stride 2) at batch 8 of 256x256 on both backends (304 chunks of 432 positions). */
async function compareStem(): Promise<string[]> {
  let s = 7;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5);
  const B = 8;
  const x = Float32Array.from({ length: B * 256 * 256 * 3 }, r);
  const dy = Float32Array.from({ length: B * 128 * 128 * 32 }, r);
  const run = async (backend: string) => {
    await selectBackend({ backend, logger: silentLogger });
    const g = tf.tidy(() => {
      const xt = tf.tensor4d(x, [B, 256, 256, 3]);
      const dyt = tf.tensor4d(dy, [B, 128, 128, 32]);
      return tf.grad((w) => tf.sum(tf.mul(tf.conv2d(xt, w as tf.Tensor4D, 2, 'same'), dyt)))(tf.zeros([3, 3, 3, 32]));
    });
    const v = (await g.data()) as Float32Array;
    g.dispose();
    return v;
  };
  const e = scaledError(await run('webgpu'), await run('cpu'));
  console.log(`\nstem filter gradient, x [${B},256,256,3], 3x3 -> 32, stride 2: scaled error ${e.toExponential(2)}`);
  return e <= TOL ? [] : [`stem filter gradient off by ${e.toExponential(2)}`];
}

async function run(): Promise<void> {
  try {
    await selectBackend({ backend: process.env['BENCH_BACKEND'] ?? 'webgpu', logger: silentLogger });
  } catch (e) {
    console.log(`skipped: ${(e as Error).message}`);
    return;
  }
  const adapter = webGpuAdapter();
  console.log(`webgpu on ${adapter ? `${adapter.vendor} ${adapter.architecture} (${adapter.description})` : tf.getBackend()} against cpu; tolerance ${TOL}`);
  const only = process.env['BENCH_GPU_ONLY']?.split(',');
  const failures: string[] = [];
  for (const [name, raw] of CONFIGS) {
    if (only && !only.includes(name)) continue;
    try {
      failures.push(...(await compareModel(name, raw)));
    } catch (e) {
      failures.push(`${name}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
    }
  }
  if (process.env['PARITY_STEM'] !== '0') failures.push(...(await compareStem()));
  await selectBackend({ backend: 'webgpu', logger: silentLogger });
  if (failures.length > 0) throw new Error(`${failures.length} check(s) over ${TOL}:\n  ${failures.slice(0, 20).join('\n  ')}`);
  console.log(`\nall checks within ${TOL}`);
}

export const section = { name: 'gpu-parity', run };

// Run directly (the esbuild bundle for a bare GPU host): exit non-zero on a failed check.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  });
}
