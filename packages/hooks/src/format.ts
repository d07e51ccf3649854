/** `h:mm:ss` (or `m:ss` under an hour); '?' for unknown/infinite. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** A loss value with 4 significant digits (exponent form when tiny or huge). */
export function formatNumber(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e5 ? x.toPrecision(4) : x.toExponential(3);
}

/** Measures iterations per second over a sliding window of recent iterations. */
export class RateMeter {
  private readonly marks: Array<{ iter: number; time: number }> = [];

  constructor(private readonly window = 50) {}

  mark(iter: number, timeMs = performance.now()): void {
    this.marks.push({ iter, time: timeMs });
    if (this.marks.length > this.window) this.marks.shift();
  }

  /** Iterations per second, NaN until two marks exist. */
  get rate(): number {
    if (this.marks.length < 2) return NaN;
    const a = this.marks[0]!;
    const b = this.marks[this.marks.length - 1]!;
    return b.time > a.time ? ((b.iter - a.iter) * 1000) / (b.time - a.time) : NaN;
  }

  /** Seconds left for `remaining` iterations at the current rate. */
  eta(remaining: number): number {
    return remaining / this.rate;
  }
}
