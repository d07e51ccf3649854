import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { writeFileAtomic, type Hook, type IterInfo, type Logger, type Metrics, type RunState } from '@detkit/core';
import { formatDuration, formatNumber, RateMeter } from './format.js';

export interface LoggerHookConfig {
  /** Print a line every `interval` iterations. */
  interval: number;
  /** JSONL file (relative to workDir) with every iteration's numbers and every evaluation. */
  metricsFile: string;
}

/** One iteration as it appears in metrics.jsonl. */
export interface IterRecord extends IterInfo {
  type: 'iter';
  time: string;
}

export interface EvalRecord {
  type: 'eval';
  iter: number;
  epoch: number;
  metrics: Metrics;
  time: string;
}

/**
 * Console line every `interval` iterations (iteration, losses, lr, it/s, ETA) and a JSONL
 * metrics file with every iteration's numbers and every evaluation. Records are buffered and
 * appended in batches of whole lines (at each console line, evaluation and the end of the
 * run). Priority 80: after evaluation and checkpoints, so an iteration's line comes last.
 */
export class LoggerHook implements Hook {
  readonly name = 'logger';
  private readonly rate = new RateMeter(50);
  private pending: string[] = [];
  private file = '';

  constructor(
    readonly config: LoggerHookConfig,
    private readonly logger: Logger,
    readonly priority = 80,
  ) {}

  /** Where metrics go for this run. */
  get metricsPath(): string {
    return this.file;
  }

  async beforeRun(state: RunState): Promise<void> {
    this.file = isAbsolute(this.config.metricsFile) ? this.config.metricsFile : join(state.workDir, this.config.metricsFile);
    await mkdir(dirname(this.file), { recursive: true });
    if (state.iter > 0) await this.dropRecordsAfter(state.iter);
    this.rate.mark(state.iter);
  }

  /**
   * A resumed run repeats the iterations its predecessor did after the checkpoint (it was
   * killed before the next one): drop those records so each iteration appears once.
   */
  private async dropRecordsAfter(iter: number): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return;
    }
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const kept = lines.filter((l) => {
      try {
        return !((JSON.parse(l) as { iter?: number }).iter! > iter);
      } catch {
        return true;
      }
    });
    if (kept.length === lines.length) return;
    await writeFileAtomic(this.file, kept.map((l) => l + '\n').join(''));
    this.logger.info(`logger: dropped ${lines.length - kept.length} record(s) after iteration ${iter} from ${this.file} (the resumed run redoes them)`);
  }

  async afterIter(state: RunState, info: IterInfo): Promise<void> {
    this.rate.mark(info.iter);
    const record: IterRecord = { type: 'iter', ...info, time: new Date().toISOString() };
    this.pending.push(JSON.stringify(record));
    if (info.iter % this.config.interval === 0 || info.iter === state.maxIters) {
      this.logger.info(this.line(state, info));
      await this.flush();
    }
  }

  /** `iter 120/5000 ep 1 | loss 1.234 (ce 0.8, bbox 0.434) | lr 1.000e-4 | 3.21 it/s | data 12ms | ETA 25:31` */
  line(state: RunState, info: IterInfo): string {
    const terms = Object.entries(info.losses)
      .map(([k, v]) => `${k} ${formatNumber(v)}`)
      .join(', ');
    const rate = this.rate.rate;
    const eta = formatDuration(this.rate.eta(state.maxIters - info.iter));
    return (
      `iter ${info.iter}/${state.maxIters} ep ${info.epoch} | loss ${formatNumber(info.totalLoss)} (${terms}) | ` +
      `lr ${info.lr.toExponential(3)} | ${Number.isFinite(rate) ? rate.toFixed(2) : '?'} it/s | ` +
      `data ${info.dataMs.toFixed(0)}ms | ETA ${eta}`
    );
  }

  async afterEval(state: RunState, metrics: Metrics): Promise<void> {
    const record: EvalRecord = { type: 'eval', iter: state.iter, epoch: state.epoch, metrics, time: new Date().toISOString() };
    this.pending.push(JSON.stringify(record));
    const shown = Object.entries(metrics)
      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
      .join(', ');
    this.logger.info(`eval @ iter ${state.iter}: ${shown}`);
    await this.flush();
  }

  async afterRun(): Promise<void> {
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0 || !this.file) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    await appendFile(this.file, text, 'utf8');
  }
}
