import { SingleBar } from 'cli-progress';
import type { Subscription } from 'rxjs';
import type { Observable } from 'rxjs';
import type { Hook, Logger, RunnerEvent, RunState } from '@detkit/core';
import { formatDuration, formatNumber, RateMeter } from './format.js';

export interface ProgressHookConfig {
  /** 'auto': a bar on an interactive terminal outside CI, periodic lines otherwise. */
  mode: 'auto' | 'bar' | 'lines';
  /** Iterations between fallback lines. */
  interval: number;
  /** Where the bar draws (default process.stdout); tests pass their own stream. */
  stream?: NodeJS.WritableStream;
}

/** Whether an interactive bar makes sense: stdout is a terminal and we are not under CI. */
export function wantsBar(env: NodeJS.ProcessEnv = process.env, isTTY = Boolean(process.stdout.isTTY)): boolean {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
  return isTTY && !ci;
}

/**
 * A progress bar driven by the run's event stream (no polling): loss, lr, it/s, time left.
 * Without a terminal (or with CI=true) it falls back to a line every `interval` iterations.
 * Subscribes in beforeRun (to RunState.events$, else the services' relay) and unsubscribes on
 * the run's afterRun event.
 */
export class ProgressHook implements Hook {
  readonly name = 'progress';
  readonly priority = 90;
  private sub: Subscription | undefined;
  private bar: SingleBar | undefined;
  private readonly rate = new RateMeter(50);

  constructor(
    readonly config: ProgressHookConfig,
    private readonly logger: Logger,
    private readonly fallbackEvents?: Observable<RunnerEvent>,
  ) {}

  get usesBar(): boolean {
    return this.config.mode === 'bar' || (this.config.mode === 'auto' && wantsBar());
  }

  beforeRun(state: RunState): void {
    const events = state.events$ ?? this.fallbackEvents;
    if (!events) {
      this.logger.warn('progress: no event stream available; no progress shown');
      return;
    }
    this.sub?.unsubscribe();
    this.rate.mark(state.iter);
    if (this.usesBar) {
      this.bar = new SingleBar({
        format: '{bar} {value}/{total} | loss {loss} | lr {lr} | {speed} it/s | left {left}',
        stream: this.config.stream ?? process.stdout,
        noTTYOutput: this.config.mode === 'bar',
        hideCursor: false,
        etaBuffer: 50,
      });
      this.bar.start(state.maxIters, state.iter, { loss: '-', lr: '-', speed: '-', left: '?' });
    }
    this.sub = events.subscribe((e) => this.onEvent(e, state.maxIters));
  }

  private onEvent(e: RunnerEvent, maxIters: number): void {
    if (e.type === 'afterIter') {
      this.rate.mark(e.iter);
      const speed = Number.isFinite(this.rate.rate) ? this.rate.rate.toFixed(2) : '?';
      const left = formatDuration(this.rate.eta(maxIters - e.iter));
      if (this.bar) {
        this.bar.update(e.iter, { loss: formatNumber(e.totalLoss), lr: e.lr.toExponential(2), speed, left });
      } else if (e.iter % this.config.interval === 0 || e.iter === maxIters) {
        const pct = ((100 * e.iter) / maxIters).toFixed(1);
        this.logger.info(`progress ${e.iter}/${maxIters} (${pct}%) | loss ${formatNumber(e.totalLoss)} | lr ${e.lr.toExponential(2)} | ${speed} it/s | left ${left}`);
      }
    } else if (e.type === 'afterRun') {
      this.stop();
    }
  }

  private stop(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  afterRun(): void {
    this.stop();
  }
}
