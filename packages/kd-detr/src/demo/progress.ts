import cliProgress from 'cli-progress';
import type { ProgressMessage } from './run-training.js';

/**
 * Live display of parallel training runs: one bar per run (iteration, loss, KD loss, last AP)
 * on a TTY, periodic plain lines otherwise (CI logs).
 */
export class RunsProgress {
  private readonly multi: cliProgress.MultiBar | undefined;
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private readonly lastAp = new Map<string, string>();
  private readonly lastLine = new Map<string, number>();

  constructor(
    private readonly lineEvery = 50,
    tty = Boolean(process.stderr.isTTY) && !process.env.CI,
  ) {
    this.multi = tty
      ? new cliProgress.MultiBar(
          { format: '{name} [{bar}] {value}/{total} | loss {loss} | kd {kd} | {ms} ms/it | AP {ap} | eta {eta_formatted}', hideCursor: true, clearOnComplete: false, stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  }

  handle(m: ProgressMessage): void {
    const pad = (s: string) => s.padEnd(18);
    if (m.type === 'start') {
      this.bars.set(m.name, this.multi?.create(m.maxIters, 0, { name: pad(m.name), loss: '-', kd: '-', ms: '-', ap: '-' }) as cliProgress.SingleBar);
      if (!this.multi) process.stderr.write(`${m.name}: started (${m.maxIters} iterations, backend ${m.backend})\n`);
    } else if (m.type === 'iter') {
      this.bars.get(m.name)?.update(m.iter, { name: pad(m.name), loss: m.loss.toFixed(3), kd: m.kd.toFixed(3), ms: m.stepMs.toFixed(0), ap: this.lastAp.get(m.name) ?? '-' });
      if (!this.multi && m.iter - (this.lastLine.get(m.name) ?? 0) >= this.lineEvery) {
        this.lastLine.set(m.name, m.iter);
        process.stderr.write(`${m.name}: iter ${m.iter} loss ${m.loss.toFixed(3)} kd ${m.kd.toFixed(3)} ${m.stepMs.toFixed(0)} ms/it\n`);
      }
    } else if (m.type === 'eval') {
      const ap = (100 * (m.metrics.AP ?? 0)).toFixed(1);
      this.lastAp.set(m.name, ap);
      this.bars.get(m.name)?.update(m.iter, { ap });
      if (!this.multi) process.stderr.write(`${m.name}: iter ${m.iter} val AP ${ap}\n`);
    } else if (m.type === 'error') {
      if (!this.multi) process.stderr.write(`${m.name}: FAILED ${m.message}\n`);
    }
  }

  stop(): void {
    this.multi?.stop();
  }
}
