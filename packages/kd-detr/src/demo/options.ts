import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DetkitError } from '@detkit/core';

export interface DemoOptions {
  /** Training iterations of each student run (both runs: same seed, data order and count). */
  iters?: number;
  teacherCheckpoint?: string;
  teacherConfig?: string;
  studentConfig?: string;
  evalInterval?: number;
  trainCount?: number;
  valCount?: number;
  batchSize?: number;
  /** Random (general) distillation points per iteration; the paper's 300 is sized for COCO. */
  generalPoints?: number;
  /** Child processes training at once; with `workers`, planned when absent (see chooseLayout). */
  jobs?: number;
  /** Data-parallel ranks per run (train.workers); planned when absent. */
  workers?: number;
  workDir?: string;
  seed?: number;
  backend?: string;
}

export const DEMO_DEFAULTS = {
  // Sized for the 15-minute budget on 2 cores: the KD-DETR run (~0.67 s/iteration, one core)
  // bounds it. Seed 0, 1e-3 + cosine: 600 iterations end at 12.5 AP; a 1200-iteration schedule is at
  // 20.5 by iteration 600, 34.3 by 900 and 37.0 at 1200 (the student alone: 1.6).
  iters: 1000,
  teacherCheckpoint: 'checkpoints/dab-detr-mnist-teacher.safetensors',
  teacherConfig: 'configs/dab-detr/mnist-teacher.ts',
  studentConfig: 'configs/dab-detr/mnist-student.ts',
  evalInterval: 250,
  trainCount: 4000,
  valCount: 200,
  batchSize: 8,
  // 64x64 canvases with at most 4 digits need far fewer probes than COCO images (paper: 300).
  generalPoints: 100,
  workDir: 'work_dirs/demo',
  seed: 0,
} as const;

/** The run settings both students share (what `studentRunConfig` needs). */
export interface RunSettings {
  iters: number;
  evalInterval: number;
  trainCount: number;
  valCount: number;
  batchSize: number;
  generalPoints: number;
  seed: number;
  backend?: string;
}

/** The demo's options with defaults applied, paths made absolute and numbers checked. */
export interface ResolvedDemoOptions {
  settings: RunSettings;
  /** Layout fixed by the user (undefined: planned). */
  asked: { jobs?: number; workers?: number };
  workDir: string;
  teacherCheckpoint: string;
  teacherConfig: string;
  studentConfig: string;
}

function nonNegative(v: unknown, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new DetkitError('INVALID_ARGUMENT', `detkit demo: --${name} must be a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

function positiveInteger(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new DetkitError('INVALID_ARGUMENT', `detkit demo: --${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

export function resolveDemoOptions(raw: DemoOptions & Record<string, unknown>): ResolvedDemoOptions {
  const d = DEMO_DEFAULTS;
  const resolved: ResolvedDemoOptions = {
    settings: {
      iters: nonNegative(raw.iters, d.iters, 'iters'),
      evalInterval: nonNegative(raw.evalInterval, d.evalInterval, 'eval-interval'),
      trainCount: nonNegative(raw.trainCount, d.trainCount, 'train-count'),
      valCount: nonNegative(raw.valCount, d.valCount, 'val-count'),
      batchSize: nonNegative(raw.batchSize, d.batchSize, 'batch-size'),
      generalPoints: nonNegative(raw.generalPoints, d.generalPoints, 'general-points'),
      seed: nonNegative(raw.seed, d.seed, 'seed'),
      backend: raw.backend,
    },
    asked: { jobs: positiveInteger(raw.jobs, 'jobs'), workers: positiveInteger(raw.workers, 'workers') },
    workDir: resolve(raw.workDir ?? d.workDir),
    teacherCheckpoint: resolve(raw.teacherCheckpoint ?? d.teacherCheckpoint),
    teacherConfig: resolve(raw.teacherConfig ?? d.teacherConfig),
    studentConfig: resolve(raw.studentConfig ?? d.studentConfig),
  };
  if (!existsSync(resolved.teacherCheckpoint)) {
    const given = raw.teacherCheckpoint ?? d.teacherCheckpoint;
    throw new DetkitError(
      'IO',
      `detkit demo: the teacher checkpoint ${resolved.teacherCheckpoint} is missing. Make it by training the teacher and copying its weights:\n` +
        `  npx detkit train ${raw.teacherConfig ?? d.teacherConfig}\n` +
        `  mkdir -p checkpoints && cp work_dirs/dab-detr-mnist-teacher/latest.safetensors ${given}\n` +
        `or pass --teacher-checkpoint <file> (a weights file or a full checkpoint).`,
      { path: resolved.teacherCheckpoint },
    );
  }
  return resolved;
}
