// Data-parallel training on the CPU: iterations per second of the MNIST student
// (configs/dab-detr/mnist-student.ts, batch 8 of real MNIST-detection images) trained by the
// real Runner with 1 worker and with 2 (train.workers: this thread + a worker thread, each with
// its own wasm backend and 4 of the 8 images), and the ratio, measured in one run. An iteration
// is timed from one afterIter to the next (everything: data, scatter, step, all-reduce, hooks).
//   npm run bench -- dp          (or: node --conditions=source --import tsx bench/dp.ts)
// Env: BENCH_ITERS (default 20 timed iterations per run, after BENCH_WARMUP, default 3),
//   BENCH_ROUNDS (default 1: rounds of [1 worker, 2 workers], pooled), DP_WORKERS (default 2),
//   DP_BATCH (global batch; default the config's 8).
// The wall-time ratio depends on how busy the machine is (the load average is printed with it);
// each rank's thread CPU time per iteration (Linux) gives an estimate that depends far less on it.
// The machine's own ceiling comes last: DP_WORKERS independent 1-worker runs at once, each in its
// own process (no communication, nothing shared but the cores, caches and memory bandwidth), and
// their summed it/s over one run's alone (DP_CEILING=0 skips it).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { DataParallelGroup, Runner, resolvePluginSpec, silentLogger, threadCpuMs, type Batch, type Hook } from '@detkit/core';
import { cycleBatches as cycle, defaultBackend, disposeBatches, median, setupDetector, trainBatches } from './detector-setup.js';

const STUDENT = 'configs/dab-detr/mnist-student.ts';
const ITERS = Number(process.env['BENCH_ITERS'] ?? 20);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 3);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 1);
const WORKERS = Number(process.env['DP_WORKERS'] ?? 2);
/** Global batch size; default the config's (8). Larger batches amortise each rank's fixed per-step cost. */
const BATCH = process.env['DP_BATCH'] ? Number(process.env['DP_BATCH']) : undefined;
const BATCHES = 4;


interface RunResult {
  /** ms between consecutive afterIter events, after the warm-up. */
  iterMs: number[];
  /** Process CPU ms (all threads) over the same intervals. */
  cpuMs: number[];
  /** Each rank's thread CPU per timed iteration (ms; Linux), and its time blocked at barriers. */
  rankCpuMs: number[];
  rankWaitMs: number[];
  /** numTensors on rank 0 at the first and last timed iteration. */
  tensors: [number, number];
}

async function run(workers: number, batches: readonly Batch[]): Promise<RunResult> {
  const setup = await setupDetector(STUDENT);
  const { config, model, registry } = setup;
  const parallel =
    workers > 1
      ? await DataParallelGroup.start({
          worldSize: workers,
          config: { ...config, train: { ...config.train, workers }, hooks: [] },
          plugins: [resolvePluginSpec('@detkit/detectors', process.cwd())],
          pluginBaseDir: process.cwd(),
          backend: tf.getBackend(),
          model,
          hooks: [],
          logger: silentLogger,
        })
      : undefined;
  const r: RunResult = { iterMs: [], cpuMs: [], rankCpuMs: [], rankWaitMs: [], tensors: [-1, -1] };
  const ranks = async () => (parallel ? Promise.all(Array.from({ length: workers }, (_, k) => parallel.stats(k))) : [{ rank: 0, threadCpuMs: threadCpuMs(), waits: { ms: 0, barriers: 0 } }]);
  let first: Awaited<ReturnType<typeof ranks>> = [];
  let last = 0;
  let lastCpu = process.cpuUsage();
  // The ranks' figures are read between steps: after the warm-up and after the last timed step.
  const probe: Hook = {
    name: 'probe',
    afterIter: async (s) => {
      const now = performance.now();
      const c = process.cpuUsage(lastCpu);
      if (s.iter > WARMUP + 1) r.iterMs.push(now - last), r.cpuMs.push((c.user + c.system) / 1000);
      if (s.iter === WARMUP + 1) {
        r.tensors[0] = tf.memory().numTensors;
        first = await ranks();
      }
      if (s.iter === WARMUP + 1 + ITERS) {
        r.tensors[1] = tf.memory().numTensors;
        (await ranks()).forEach((x, k) => {
          r.rankCpuMs.push(((x.threadCpuMs ?? NaN) - (first[k]!.threadCpuMs ?? NaN)) / ITERS);
          r.rankWaitMs.push((x.waits.ms - first[k]!.waits.ms) / ITERS);
        });
      }
      last = performance.now();
      lastCpu = process.cpuUsage();
    },
  };
  const runner = new Runner({
    model,
    train: cycle(batches),
    hooks: [probe],
    optimizer: config.train.optimizer,
    clipGradNorm: config.train.clipGradNorm,
    maxIters: WARMUP + ITERS + 1,
    workDir: mkdtempSync(join(tmpdir(), 'dp-bench-')),
    services: registry.services,
    handleSignals: false,
    parallel,
  });
  try {
    await runner.train();
  } finally {
    await parallel?.close();
    runner.dispose();
    model.dispose();
  }
  return r;
}

const itPerSec = (ms: number[]) => 1000 / median(ms);

/** Set in the child processes of the ceiling measurement: run 1 worker, print its iteration times. */
const SOLO_CHILD = process.env['DP_SOLO_CHILD'] === '1';
const SOLO_TAG = 'DP_SOLO_ITER_MS ';

/** `count` processes each training 1 worker at the same time; their iteration times. */
async function independentRuns(count: number): Promise<number[][]> {
  const one = () =>
    new Promise<number[]>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
        env: { ...process.env, DP_SOLO_CHILD: '1' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        const line = out.split('\n').find((l) => l.startsWith(SOLO_TAG));
        if (code !== 0 || line === undefined) reject(new Error(`ceiling child exited ${code} without its figures:\n${out.slice(-2000)}`));
        else resolve(JSON.parse(line.slice(SOLO_TAG.length)) as number[]);
      });
    });
  return Promise.all(Array.from({ length: count }, one));
}

export const section = {
  name: 'dp',
  async run(): Promise<void> {
    const backend = await defaultBackend();
    if (!(Number.isInteger(ITERS) && ITERS >= 1)) throw new Error(`BENCH_ITERS must be a positive integer, got ${process.env['BENCH_ITERS']}`);
    const setup = await setupDetector(STUDENT);
    const batches = await trainBatches(setup, { count: BATCHES, batchSize: BATCH ?? setup.config.data.batchSize });
    setup.model.dispose();
    if (SOLO_CHILD) {
      console.log(SOLO_TAG + JSON.stringify((await run(1, batches)).iterMs));
      disposeBatches(batches);
      return;
    }
    const [b, h, w] = batches[0]!.images.shape;
    const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
    console.log(`${STUDENT}: real batches ${b}x${h}x${w}, backend ${backend.name}; median of ${ITERS} iterations after ${WARMUP} warm-ups, ${ROUNDS} round(s); ${availableParallelism()} cores, load average ${load()} before`);
    const one: number[] = [];
    const many: number[] = [];
    const cpu: Record<number, number[]> = { 1: [], [WORKERS]: [] };
    const rankCpu: Record<number, number[][]> = { 1: [], [WORKERS]: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [workers, into] of [[1, one], [WORKERS, many]] as const) {
        const res = await run(workers, batches);
        into.push(...res.iterMs);
        cpu[workers]!.push(...res.cpuMs);
        rankCpu[workers]!.push(res.rankCpuMs);
        const leak = res.tensors[1] !== res.tensors[0] ? `  LEAK: ${res.tensors[0]} -> ${res.tensors[1]} tensors on rank 0` : '';
        const perRank = res.rankCpuMs.map((c, k) => `rank ${k} ${c.toFixed(0)} ms CPU${workers > 1 ? `, ${res.rankWaitMs[k]!.toFixed(0)} ms blocked` : ''}`).join('; ');
        console.log(`  round ${round + 1}, ${workers} worker${workers > 1 ? 's' : ''}: ${itPerSec(res.iterMs).toFixed(2)} it/s (${median(res.iterMs).toFixed(0)} ms/iteration; per iteration: ${perRank}; process ${median(res.cpuMs).toFixed(0)} ms CPU)${leak}`);
      }
    }
    console.log(`1 worker:  ${itPerSec(one).toFixed(2)} it/s (${median(one).toFixed(0)} ms/iteration)`);
    console.log(`${WORKERS} workers: ${itPerSec(many).toFixed(2)} it/s (${median(many).toFixed(0)} ms/iteration)`);
    // Each rank is one thread: on idle cores an iteration takes about the busiest rank's CPU time.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const single = mean(rankCpu[1]!.map((x) => x[0]!));
    const busiest = mean(rankCpu[WORKERS]!.map((x) => Math.max(...x)));
    console.log(`thread CPU per iteration: ${single.toFixed(0)} ms with 1 worker; busiest of ${WORKERS} ranks ${busiest.toFixed(0)} ms: about ${(single / busiest).toFixed(2)}x on ${WORKERS} idle cores (CPU-time estimate, robust to a busy machine)`);
    console.log(`ratio ${WORKERS} workers / 1 worker: ${(itPerSec(many) / itPerSec(one)).toFixed(2)}x (target >= 1.7x on 2 idle cores); load average ${load()} after`);
    disposeBatches(batches);
    if (process.env['DP_CEILING'] === '0') return;
    // What the cores give when nothing is shared: the most any layout of ranks could reach.
    const runs = await independentRuns(WORKERS);
    const summed = runs.reduce((acc, ms) => acc + itPerSec(ms), 0);
    const each = runs.map((ms) => `${median(ms).toFixed(0)}`).join(', ');
    console.log(`ceiling: ${WORKERS} independent 1-worker runs at once (separate processes): ${each} ms/iteration, ${summed.toFixed(2)} it/s summed = ${(summed / itPerSec(one)).toFixed(2)}x one run alone; load average ${load()} after`);
  },
};

if (import.meta.url === `file://${process.argv[1]}`) await section.run();
