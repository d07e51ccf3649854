// Cost of KD-DETR per student training iteration: the MNIST student (configs/dab-detr/mnist-student.ts)
// trained by the real runner on real MNIST-detection batches of 8, alone and with the distillation
// hook (teacher of configs/dab-detr/mnist-teacher.ts with random weights: they do not change the
// timing). Per row: median wall ms and median process-CPU ms per iteration (CPU time is the steadier
// figure on a busy machine), after 2 warm-up iterations.
//   npm run bench -- kd-overhead        (or: node --conditions=source --import tsx bench/kd-overhead.ts)
// Env: BENCH_ITERS (default 8 timed iterations), KD_ROWS (comma list of row keys: alone,kd,specific,
//   hungarian), KD_LOSSES_OUT=file.json (writes every row's per-iteration loss terms, to check that
//   an optimisation left the loss values unchanged), KD_REPEAT (default 1: rows run round-robin
//   this many times and the medians pool all rounds).
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { loadConfig, Runner, saveModelOnly, type Batch, type Hook, type IterInfo } from '@detkit/core';
import type { QueryGroupDetector } from '@detkit/detectors';
import { plugin } from '@detkit/kd-detr';
import { cycleBatches as cycle, defaultBackend, disposeBatches, median, setupDetector, trainBatches } from './detector-setup.js';

const STUDENT = 'configs/dab-detr/mnist-student.ts';
const TEACHER = 'configs/dab-detr/mnist-teacher.ts';
const WARMUP = 2;
const ITERS = Number(process.env['BENCH_ITERS'] ?? 8);
const BATCHES = 4;

const ROWS: Record<string, [string, Record<string, unknown> | undefined]> = {
  alone: ['student alone', undefined],
  kd: ['+ KD-DETR general 100 + specific 50', { samplers: [{ type: 'general', count: 100 }, { type: 'specific' }] }],
  specific: ['+ KD-DETR specific only', { samplers: [{ type: 'specific' }] }],
  hungarian: ['+ hungarian-logits', { method: 'hungarian-logits' }],
};


/** A teacher checkpoint with the teacher config's random initial weights (timing only). */
async function randomTeacherCheckpoint(): Promise<string> {
  const setup = await setupDetector(TEACHER);
  const file = join(mkdtempSync(join(tmpdir(), 'kd-bench-')), 'teacher.safetensors');
  await saveModelOnly(file, setup.model);
  setup.model.dispose();
  return file;
}

interface RowResult {
  wall: number[];
  cpu: number[];
  losses: Array<Record<string, number>>;
  /** numTensors at the start of the first timed iteration and of the last one (must match). */
  tensorsFirst: number;
  tensorsLast: number;
}

async function runRow(distill: Record<string, unknown> | undefined, batches: readonly Batch[], teacherCheckpoint: string): Promise<RowResult> {
  const setup = await setupDetector(STUDENT);
  const { registry, config, model } = setup;
  await plugin.register(registry.pluginContext(plugin.name));
  const hooks: Hook[] = [];
  let hook: (Hook & { dispose?: () => void }) | undefined;
  if (distill) {
    const teacherModel = (await loadConfig(TEACHER)).config.model;
    hook = await registry.build<Hook>('hook', { type: 'kd-detr', teacher: { model: teacherModel, checkpoint: teacherCheckpoint }, saveStudent: false, ...distill });
    hooks.push(hook);
  }
  const runner = new Runner({
    model: model as unknown as QueryGroupDetector,
    train: cycle(batches),
    hooks,
    optimizer: config.train.optimizer,
    clipGradNorm: config.train.clipGradNorm,
    maxIters: WARMUP + ITERS,
    workDir: mkdtempSync(join(tmpdir(), 'kd-bench-run-')),
    services: registry.services,
    handleSignals: false,
  });
  const r: RowResult = { wall: [], cpu: [], losses: [], tensorsFirst: -1, tensorsLast: -1 };
  let t0 = 0;
  let c0 = process.cpuUsage();
  runner.events$.subscribe((e) => {
    if (e.type === 'beforeIter') {
      // Counted before the hooks' beforeIter: the previous iteration's teacher outputs are freed.
      if (e.iter >= WARMUP) (r.tensorsFirst < 0 ? (r.tensorsFirst = tf.memory().numTensors) : (r.tensorsLast = tf.memory().numTensors));
      t0 = performance.now();
      c0 = process.cpuUsage();
    }
    if (e.type === 'afterIter') {
      const c = process.cpuUsage(c0);
      const info = e as unknown as IterInfo;
      r.losses.push(info.losses);
      if (info.iter > WARMUP) {
        r.wall.push(performance.now() - t0);
        r.cpu.push((c.user + c.system) / 1000);
      }
    }
  });
  await runner.train();
  runner.dispose();
  hook?.dispose?.();
  model.dispose();
  return r;
}

export const section = {
  name: 'kd-overhead',
  async run(): Promise<void> {
    const backend = await defaultBackend();
    const keys = (process.env['KD_ROWS'] ?? Object.keys(ROWS).join(',')).split(',').filter(Boolean);
    for (const k of keys) if (!(k in ROWS)) throw new Error(`KD_ROWS: unknown row '${k}'; known: ${Object.keys(ROWS).join(', ')}`);
    const repeat = Number(process.env['KD_REPEAT'] ?? 1);
    const teacherCheckpoint = await randomTeacherCheckpoint();
    const batchSetup = await setupDetector(STUDENT);
    const batches = await trainBatches(batchSetup, { count: BATCHES, batchSize: batchSetup.config.data.batchSize });
    batchSetup.model.dispose();
    const [b, h, w] = batches[0]!.images.shape;
    console.log(`student ${STUDENT}, teacher ${TEACHER} (random weights); real batches ${b}x${h}x${w}; backend ${backend.name}; median of ${ITERS} iterations after ${WARMUP} warm-ups, x${repeat} rounds (teacher forward included)`);
    const pooled = new Map<string, RowResult>();
    for (let round = 0; round < repeat; round++) {
      for (const k of keys) {
        const res = await runRow(ROWS[k]![1], batches, teacherCheckpoint);
        if (res.tensorsLast !== res.tensorsFirst) console.log(`  LEAK in '${k}': ${res.tensorsFirst} tensors at the first timed iteration, ${res.tensorsLast} at the last`);
        const p = pooled.get(k);
        if (!p) pooled.set(k, res);
        else p.wall.push(...res.wall), p.cpu.push(...res.cpu);
      }
    }
    const base = pooled.get('alone');
    for (const k of keys) {
      const p = pooled.get(k)!;
      const wall = median(p.wall);
      const cpu = median(p.cpu);
      const ratio = base && k !== 'alone' ? `  (x${(wall / median(base.wall)).toFixed(2)} wall, x${(cpu / median(base.cpu)).toFixed(2)} CPU)` : '';
      console.log(`${ROWS[k]![0].padEnd(40)} ${wall.toFixed(0).padStart(6)} ms/iter wall, ${cpu.toFixed(0).padStart(6)} ms CPU${ratio}`);
    }
    const out = process.env['KD_LOSSES_OUT'];
    if (out) {
      const tmp = `${out}.tmp`;
      writeFileSync(tmp, JSON.stringify(Object.fromEntries(keys.map((k) => [k, pooled.get(k)!.losses])), null, 1));
      renameSync(tmp, out);
      console.log(`loss terms per iteration written to ${out}`);
    }
    disposeBatches(batches);
  },
};

if (import.meta.url === `file://${process.argv[1]}`) await section.run();
