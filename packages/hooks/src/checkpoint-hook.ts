import { readdir, unlink } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { loadedScalar, type Hook, type IterInfo, type Logger, type Metrics, type RunState } from '@detkit/core';

export interface CheckpointHookConfig {
  /** Save `iter_<N>.safetensors` every `interval` iterations (0: only latest at the end). */
  interval: number;
  /** Keep only the newest `keepLast` periodic files (0: keep all). */
  keepLast: number;
  /** Metric (from evaluation) that decides `best.safetensors`; none: no best file. */
  bestMetric?: string;
  bestMode: 'max' | 'min';
}

const PERIODIC = /^iter_(\d+)\.safetensors$/;

/** `iter_00001200.safetensors`: zero-padded so a directory listing sorts by iteration. */
export function periodicName(iter: number): string {
  return `iter_${String(iter).padStart(8, '0')}.safetensors`;
}

/**
 * Periodic checkpoints with rotation, the best one by a metric, and `latest.safetensors` at the
 * end of every run. Files are written through RunState.saveCheckpoint (atomic); an old file is
 * deleted only after its successor is safely on disk. Priority 70: after evaluation (60).
 */
export class CheckpointHook implements Hook {
  readonly name = 'checkpoint';
  private kept: Array<{ iter: number; file: string }> = [];
  private best: number | undefined;
  private bestTensor: tf.Tensor | undefined;
  private warnedMissing = false;

  constructor(
    readonly config: CheckpointHookConfig,
    private readonly logger?: Logger,
    readonly priority = 70,
  ) {}

  get bestValue(): number | undefined {
    return this.best;
  }

  /** Picks up periodic files from an earlier (resumed) run so rotation covers them too. */
  async beforeRun(state: RunState): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(state.workDir);
    } catch {
      return;
    }
    this.kept = names
      .map((file) => ({ file, m: PERIODIC.exec(file) }))
      .filter((e) => e.m !== null)
      .map((e) => ({ iter: Number(e.m![1]), file: join(state.workDir, e.file) }))
      .filter((e) => e.iter <= state.iter)
      .sort((a, b) => a.iter - b.iter);
  }

  async afterIter(state: RunState, info: IterInfo): Promise<void> {
    const { interval, keepLast } = this.config;
    if (interval <= 0 || info.iter % interval !== 0) return;
    const file = join(state.workDir, periodicName(info.iter));
    await state.saveCheckpoint(file);
    this.kept = this.kept.filter((k) => k.file !== file);
    this.kept.push({ iter: info.iter, file });
    while (keepLast > 0 && this.kept.length > keepLast) {
      const old = this.kept.shift()!;
      await unlink(old.file).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
  }

  async afterEval(state: RunState, metrics: Metrics): Promise<void> {
    const { bestMetric, bestMode } = this.config;
    if (!bestMetric) return;
    const value = metrics[bestMetric];
    if (value === undefined || !Number.isFinite(value)) {
      if (!this.warnedMissing) {
        this.logger?.warn(`checkpoint: metric '${bestMetric}' not in evaluation results (have: ${Object.keys(metrics).join(', ')}); no best checkpoint`);
        this.warnedMissing = true;
      }
      return;
    }
    const better = this.best === undefined || (bestMode === 'max' ? value > this.best : value < this.best);
    if (!better) return;
    this.best = value;
    await state.saveCheckpoint(join(state.workDir, 'best.safetensors'));
    this.logger?.info(`checkpoint: new best ${bestMetric}=${value} at iteration ${state.iter} -> best.safetensors`);
  }

  async afterRun(state: RunState): Promise<void> {
    await state.saveCheckpoint(join(state.workDir, 'latest.safetensors'));
  }

  /** The best metric so far survives a resume, so a worse result cannot replace best.safetensors. */
  stateTensors(): Map<string, tf.Tensor> {
    if (this.best === undefined) return new Map();
    this.bestTensor?.dispose();
    this.bestTensor = tf.tensor1d([this.best], 'float32');
    return new Map([['best', this.bestTensor]]);
  }

  loadStateTensors(tensors: Map<string, tf.Tensor>): void {
    const t = tensors.get('best');
    this.best = t ? loadedScalar(t) : undefined;
  }

  dispose(): void {
    this.bestTensor?.dispose();
    this.bestTensor = undefined;
  }
}
