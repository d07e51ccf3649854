// Small timing helpers shared by bench sections (figures only, no assertions).
import * as tf from '@tensorflow/tfjs-core';

export interface Timing {
  min: number;
  med: number;
}

/** min / median ms of `reps` calls after `warmup` calls; `fn` must finish its work (e.g. read data). */
export function time(fn: () => void, reps = 10, warmup = 2): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return { min: ts[0]!, med: ts[ts.length >> 1]! };
}

/** Times a tensor-producing function: waits for the result, disposes everything it made. */
export function timeTensor(fn: () => tf.Tensor | tf.Tensor[], reps = 10, warmup = 2): Timing {
  return time(() => {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    for (const t of list) t.dataSync();
    tf.dispose(list);
  }, reps, warmup);
}

/**
 * timeTensor for backends without synchronous reads (webgpu in Node): awaits every output's
 * data, so the time includes the device work and one readback per output.
 */
export async function timeTensorAsync(fn: () => tf.Tensor | tf.Tensor[], reps = 10, warmup = 2): Promise<Timing> {
  const once = async () => {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    await Promise.all(list.map((t) => t.data()));
    tf.dispose(list);
  };
  for (let i = 0; i < warmup; i++) await once();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await once();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return { min: ts[0]!, med: ts[ts.length >> 1]! };
}

export const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(2));

/** Prints an aligned table; the first row is the header. */
export function printTable(title: string, rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  console.log(`\n${title}`);
  for (const [i, r] of rows.entries()) {
    console.log('  ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

/** Deterministic uniform values in [-1, 1). */
export function randomTensor(shape: number[], seed: number): tf.Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s / 2147483648 - 1;
  }
  return tf.tensor(v, shape);
}
