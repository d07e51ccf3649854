import * as tf from '@tensorflow/tfjs-core';

/**
 * Test helpers for the nn tests: float64 reference math and a finite-difference gradient
 * check. Not a test file itself (ava picks up *.test.ts only).
 */

/** Deterministic pseudo-random floats in [-1, 1), independent of tfjs. */
export function randArray(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push((s / 2 ** 32) * 2 - 1);
  }
  return out;
}

export function randTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randArray(shape.reduce((a, b) => a * b, 1), seed), shape);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Compares tf.variableGrads of `loss` w.r.t. each variable with central finite differences at
 * up to `samples` entries per variable. Returns the worst |analytic - numeric| scaled by
 * max(1, |numeric|). The loss must be deterministic (no dropout, fixed batch statistics OK).
 */
export function gradCheck(loss: () => tf.Scalar, vars: Record<string, tf.Variable>, opts: { eps?: number; samples?: number } = {}): Record<string, number> {
  const eps = opts.eps ?? 1e-2;
  const samples = opts.samples ?? 12;
  const list = Object.values(vars);
  const { value, grads } = tf.variableGrads(loss, list);
  value.dispose();
  const result: Record<string, number> = {};
  for (const [name, v] of Object.entries(vars)) {
    const g = grads[v.name];
    if (!g) throw new Error(`no gradient for ${name}`);
    const ga = g.dataSync();
    const base = Float32Array.from(v.dataSync());
    const idx = pickIndices(base.length, samples);
    let worst = 0;
    for (const i of idx) {
      const f = (delta: number): number => {
        const d = Float32Array.from(base);
        d[i] = d[i]! + delta;
        tf.tidy(() => v.assign(tf.tensor(d, v.shape)));
        return tf.tidy(() => loss().dataSync()[0]!);
      };
      const num = (f(eps) - f(-eps)) / (2 * eps);
      worst = Math.max(worst, Math.abs(ga[i]! - num) / Math.max(1, Math.abs(num)));
    }
    tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
    result[name] = worst;
  }
  tf.dispose(grads);
  return result;
}

function pickIndices(n: number, k: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  const step = n / k;
  return Array.from({ length: k }, (_, i) => Math.floor(i * step + step / 2));
}
