// The DAB-DETR student and teacher (on a hardware GPU also the Deformable DETR and DINO students,
// and the WGSL deformable-attention kernels against composed ops) on the webgpu backend, through the runner's own training step
// (forward, asynchronous matching read, backward, one readout, clipping, AdamW): ms per training
// iteration, ms per inference image, and per step the tfjs kernels run, GPU programs dispatched,
// queue submits and device->host reads.
//   npm run bench -- gpu
// Runs on any WebGPU adapter. On a software one (SwiftShader) only the 64x64 batch-8 cases run,
// for one warm-up and one measured iteration, unless BENCH_GPU_CASES=all / BENCH_ITERS=n
// (default 10 after 2 warm-ups on hardware). BENCH_BACKEND=wasm (or any choice) times the same on another backend.
// BENCH_GPU_CASES=small keeps only batch 8 of 64x64 on hardware too; BENCH_GPU_ONLY=student,teacher
// keeps the named models (bench/gpu-host.sh probe times variants of one step this way).
// BENCH_GPU_JSON=file also writes the figures as JSON (bench/gpu-host.sh collects them).
// BENCH_GPU_KERNEL_MS=1 profiles one more training step per case with tf.profile: the GPU time of
// every program from the device's timestamp queries, summed by tfjs kernel (where the adapter has
// 'timestamp-query'; Dawn may need DETKIT_DAWN_FLAGS=enable-dawn-features=allow_unsafe_apis).
// Each profiled program gets its own pass and a readback, so that step is slow; its GPU times are
// what the programs cost, not the step's wall time. A kernel that runs others counts theirs too.
// Batches are random images with 1-3 random boxes (as bench/torch_dab_detr.py), and nothing here
// loads a file at run time, so esbuild bundles it for a bare GPU host (bench/gpu-host.sh).
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  createOptimizer, createRegistry, createServices, selectBackend, silentLogger, trainStep, validateConfig, webGpuAdapter,
  type TrainableModel,
} from '@detkit/core';
import { registerDetectors } from '@detkit/detectors';
import { DAB_CONFIGS, MORE_CONFIGS, lossSteps, syntheticBatch } from './gpu-models.js';
import { kernelTable } from './ms-deform-attn-calls.js';
import { countStepCosts, type StepCounts } from './step-counters.js';

const SIZES: ReadonlyArray<{ batch: number; size: number }> = [
  { batch: 8, size: 64 },
  { batch: 32, size: 256 },
];

type Model = TrainableModel & { trainableParameters(): Array<[string, tf.Variable]>; dispose(): void; numParameters(): number };

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(2));

export interface GpuRow {
  model: string;
  batch: number;
  size: number;
  params: number;
  msPerIter: number;
  msPerImage: number;
  perStep: StepCounts;
  /** GPU dispatches of the last measured step by the tfjs kernel that issued them, most first. */
  topDispatches: Array<[string, number]>;
  tensorsFlat: boolean;
  /** BENCH_GPU_KERNEL_MS: GPU ms of one profiled step by tfjs kernel [name, ms, calls], most first. */
  kernelGpuMs?: Array<[string, number, number]>;
}

/** One training step under tf.profile: the device time of its programs by tfjs kernel. */
async function kernelGpuTimes(step: () => Promise<unknown>): Promise<Array<[string, number, number]>> {
  const info = await tf.profile(async () => void (await step()));
  const by = new Map<string, [number, number]>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const [sum, n] = by.get(k.name) ?? [0, 0];
    by.set(k.name, [sum + ms, n + 1]);
  }
  return [...by].map(([name, [ms, n]]): [string, number, number] => [name, ms, n]).sort((a, b) => b[1] - a[1]);
}

async function measure(name: string, raw: unknown, batch: number, size: number, iters: number, warmup: number): Promise<GpuRow> {
  const config = validateConfig(raw, `bench gpu: ${name}`);
  const registry = createRegistry(createServices({ logger: silentLogger, seed: config.seed, backend: tf.getBackend() }).services);
  registerDetectors(registry.pluginContext('@detkit/detectors'));
  const model = await registry.build<Model>('detector', config.model);
  const batches = [syntheticBatch(batch, size, 1), syntheticBatch(batch, size, 2)];
  const params = model.trainableParameters();
  const optimizer = createOptimizer(config.train.optimizer, params);
  const lr = config.train.optimizer.lr;
  model.train();
  const times: number[] = [];
  const counts: StepCounts[] = [];
  const tensors: number[] = [];
  let top: Array<[string, number]> = [];
  const counter = countStepCosts();
  try {
    for (let i = 0; i < warmup + iters; i++) {
      counter.take();
      const t0 = performance.now();
      const out = await trainStep(params, () => lossSteps(model, batches[i % 2]!), optimizer, lr, config.train.clipGradNorm);
      const ms = performance.now() - t0; // the step ends on its readout: the device work is done
      if (!Number.isFinite(out.totalLoss)) throw new Error(`${name}: loss ${out.totalLoss} at iteration ${i}`);
      if (i >= warmup) {
        top = [...counter.byKernel()].sort((a, b) => b[1] - a[1]);
        times.push(ms);
        counts.push(counter.take());
        tensors.push(tf.memory().numTensors);
      }
    }
    const kernelGpuMs = process.env['BENCH_GPU_KERNEL_MS'] === '1'
      ? await kernelGpuTimes(() => trainStep(params, () => lossSteps(model, batches[0]!), optimizer, lr, config.train.clipGradNorm))
      : undefined;
    model.eval();
    const predictTimes: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      await model.predict(batches[0]!);
      if (r > 0) predictTimes.push(performance.now() - t0);
    }
    const pick = (k: keyof StepCounts) => median(counts.map((c) => c[k]));
    return {
      model: name, batch, size, params: model.numParameters(),
      msPerIter: median(times),
      msPerImage: median(predictTimes) / batch,
      perStep: { kernels: pick('kernels'), dispatches: pick('dispatches'), submits: pick('submits'), reads: pick('reads') },
      topDispatches: top,
      tensorsFlat: tensors.every((n) => n === tensors[0]),
      ...(kernelGpuMs ? { kernelGpuMs } : {}),
    };
  } finally {
    counter.stop();
    optimizer.dispose();
    batches.forEach((b) => tf.dispose([b.images, b.masks]));
    model.dispose();
  }
}

function printTable(title: string, rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  console.log(`\n${title}`);
  for (const [i, r] of rows.entries()) {
    console.log('  ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

export async function run(): Promise<GpuRow[]> {
  let selected;
  try {
    selected = await selectBackend({ backend: process.env['BENCH_BACKEND'] ?? 'webgpu', logger: silentLogger });
  } catch (e) {
    console.log(`skipped: ${(e as Error).message}`);
    return [];
  }
  const adapter = webGpuAdapter();
  const software = adapter?.software ?? true;
  const all = process.env['BENCH_GPU_CASES'] === 'all' || !software;
  const iters = Number(process.env['BENCH_ITERS'] ?? (software ? 1 : 10));
  const warmup = software ? 1 : 2; // shader compilation and buffer pools fill on the first iterations
  const sizes = all && process.env['BENCH_GPU_CASES'] !== 'small' ? SIZES : SIZES.slice(0, 1);
  const moreModels = process.env['BENCH_GPU_MODELS'] === 'all' || (!software && process.env['BENCH_GPU_MODELS'] !== 'dab');
  const only = process.env['BENCH_GPU_ONLY']?.split(',');
  const configs = (moreModels ? [...DAB_CONFIGS, ...MORE_CONFIGS] : DAB_CONFIGS).filter(([name]) => !only || only.includes(name));
  const where = adapter ? `webgpu on ${adapter.vendor} ${adapter.architecture} (${adapter.description})` : selected.name;
  console.log(`backend: ${selected.reason}`);
  if (!all) console.log(`${where} is not a hardware GPU: only batch 8 of 64x64 (BENCH_GPU_CASES=all for the rest)`);
  const rows: GpuRow[] = [];
  const failures: string[] = [];
  // Written after every case, so figures survive a run cut short by the host's time limit.
  const json = process.env['BENCH_GPU_JSON'];
  const saveJson = (): void => {
    if (json) writeFileSync(json, JSON.stringify({ where, backend: selected.reason, iters, rows, failures }, null, 2) + '\n');
  };
  for (const { batch, size } of sizes) {
    for (const [name, cfg] of configs) {
      // One model failing (on an adapter not tried before) must not lose the other figures.
      try {
        rows.push(await measure(name, cfg, batch, size, iters, warmup));
      } catch (e) {
        failures.push(`${name} ${batch}x${size}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
      }
      saveJson();
    }
  }
  printTable(
    `${moreModels ? 'DAB-DETR, Deformable DETR and DINO' : 'DAB-DETR'}, ${where}; the runner's training step (AdamW, clip 0.1); median of ${iters} iterations after ${warmup}; counts per training step`,
    [
      ['model', 'batch', 'params', 'ms/train iter', 'ms/image infer', 'tfjs kernels', 'GPU dispatches', 'submits', 'host reads', 'tensors flat'],
      ...rows.map((r) => [r.model, `${r.batch}x${r.size}x${r.size}`, r.params.toLocaleString('en-US'), fmt(r.msPerIter), fmt(r.msPerImage), String(r.perStep.kernels), String(r.perStep.dispatches), String(r.perStep.submits), String(r.perStep.reads), r.tensorsFlat ? 'yes' : 'NO']),
    ],
  );
  for (const r of rows) {
    if (r.perStep.dispatches === 0) continue;
    console.log(`  ${r.model} ${r.batch}x${r.size}: dispatches by tfjs kernel: ${r.topDispatches.slice(0, 14).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }
  for (const r of rows) {
    if (!r.kernelGpuMs) continue;
    const total = r.kernelGpuMs.reduce((a, [, ms]) => a + ms, 0);
    const top = r.kernelGpuMs.slice(0, 16).map(([k, ms, n]) => `${k} ${fmt(ms)} ms/${n}`).join(', ');
    console.log(`  ${r.model} ${r.batch}x${r.size}: GPU time of one profiled step ${fmt(total)} ms${total === 0 ? ' (no timestamp queries on this adapter)' : ''}, by kernel: ${top}`);
  }
  for (const f of failures) console.log(`  failed: ${f}`);
  // The WGSL deformable-attention kernels against the composed tfjs ops (bench/deformable.ts).
  if (moreModels && !only) await kernelTable(selected.name);
  return rows;
}

export const section = { name: 'gpu', run: async () => void (await run()) };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
