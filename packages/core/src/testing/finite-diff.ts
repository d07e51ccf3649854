import * as tf from '@tensorflow/tfjs-core';

/**
 * Central differences of a scalar float64 function of a flat vector: the independent reference
 * for an analytic gradient (write the function in plain float64 JS, not with the ops under test).
 */
export function finiteDiff(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  const xp = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    const x0 = xp[i]!;
    xp[i] = x0 + h;
    const fp = f(xp);
    xp[i] = x0 - h;
    const fm = f(xp);
    xp[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/**
 * Checks `tf.variableGrads(loss)` for each variable against central differences of the same loss,
 * at up to `samples` evenly spread entries per variable. Returns, per variable, the worst
 * |analytic - numeric| / max(1, |numeric|). The loss runs in float32, so `eps` is large (1e-2 by
 * default) and tolerances are loose (~1e-2): this catches a wrong or missing gradient, not
 * rounding. Prefer `finiteDiff` of a float64 reference where one can be written. The loss must be
 * deterministic (no dropout). The variables are restored afterwards; no tensors are left behind.
 */
export function gradCheck(loss: () => tf.Scalar, vars: Record<string, tf.Variable>, opts: { eps?: number; samples?: number } = {}): Record<string, number> {
  const eps = opts.eps ?? 1e-2;
  const samples = opts.samples ?? 12;
  const { value, grads } = tf.variableGrads(loss, Object.values(vars));
  value.dispose();
  const result: Record<string, number> = {};
  try {
    for (const [name, v] of Object.entries(vars)) {
      const g = grads[v.name];
      if (!g) throw new Error(`gradCheck: no gradient reaches variable '${name}' (${v.name})`);
      const analytic = g.dataSync();
      const base = Float32Array.from(v.dataSync());
      let worst = 0;
      try {
        for (const i of spreadIndices(base.length, samples)) {
          const at = (delta: number): number => {
            const d = Float32Array.from(base);
            d[i] = d[i]! + delta;
            tf.tidy(() => v.assign(tf.tensor(d, v.shape)));
            return tf.tidy(() => loss().dataSync()[0]!);
          };
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          const r = Math.abs(analytic[i]! - numeric) / Math.max(1, Math.abs(numeric));
          worst = Number.isNaN(r) ? Infinity : Math.max(worst, r);
        }
      } finally {
        tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
      }
      result[name] = worst;
    }
  } finally {
    tf.dispose(Object.values(grads));
  }
  return result;
}

/** k indices spread evenly over [0, n) (all of them when n <= k). */
function spreadIndices(n: number, k: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  const step = n / k;
  return Array.from({ length: k }, (_, i) => Math.floor(i * step + step / 2));
}
