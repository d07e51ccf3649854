import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { isDetkitError } from '@detkit/core';
import { HungarianMatcher, linearSumAssignment } from '../src/matcher/index.js';
import { randomCxcywh, rng } from './box-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** Minimum total cost over all injective assignments of the smaller side, by enumeration. */
function bruteForce(cost: ArrayLike<number>, n: number, m: number): number {
  const rowsSmall = n <= m;
  const k = Math.min(n, m), big = Math.max(n, m);
  const at = (s: number, b: number) => (rowsSmall ? cost[s * m + b] : cost[b * m + s]);
  const used = new Array<boolean>(big).fill(false);
  let best = Infinity;
  const rec = (s: number, acc: number) => {
    if (s === k) {
      best = Math.min(best, acc);
      return;
    }
    for (let b = 0; b < big; b++) {
      if (used[b]) continue;
      used[b] = true;
      rec(s + 1, acc + at(s, b));
      used[b] = false;
    }
  };
  rec(0, 0);
  return best;
}

/** Exact optimum by DP over subsets of the smaller side (independent of the solver, fine up to ~14). */
function subsetDp(cost: ArrayLike<number>, n: number, m: number): number {
  const rowsSmall = n <= m;
  const k = Math.min(n, m), big = Math.max(n, m);
  const at = (s: number, b: number) => (rowsSmall ? cost[s * m + b] : cost[b * m + s]);
  let dp = new Float64Array(1 << k).fill(Infinity);
  dp[0] = 0;
  for (let b = 0; b < big; b++) {
    const next = Float64Array.from(dp); // b left unassigned
    for (let mask = 0; mask < 1 << k; mask++) {
      if (dp[mask] === Infinity) continue;
      for (let s = 0; s < k; s++) if (!(mask & (1 << s))) next[mask | (1 << s)] = Math.min(next[mask | (1 << s)], dp[mask] + at(s, b));
    }
    dp = next;
  }
  return dp[(1 << k) - 1];
}

function checkValid(t: import('ava').ExecutionContext, cost: ArrayLike<number>, n: number, m: number, label: string) {
  const res = linearSumAssignment(cost, n, m);
  const k = Math.min(n, m);
  t.is(res.rowIdx.length, k, label);
  t.is(res.colIdx.length, k, label);
  t.is(new Set(res.rowIdx).size, k, `${label}: rows distinct`);
  t.is(new Set(res.colIdx).size, k, `${label}: cols distinct`);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    if (i > 0) t.true(res.rowIdx[i] > res.rowIdx[i - 1], `${label}: sorted by row`);
    t.true(res.rowIdx[i] >= 0 && res.rowIdx[i] < n && res.colIdx[i] >= 0 && res.colIdx[i] < m, label);
    sum += cost[res.rowIdx[i] * m + res.colIdx[i]];
  }
  t.true(Math.abs(sum - res.cost) <= 1e-9 * Math.max(1, Math.abs(sum)), `${label}: reported cost`);
  return sum;
}

const randomCost = (rand: () => number, n: number, m: number, f: () => number) => Float64Array.from({ length: n * m }, f);

test('matches brute force on every size up to 7x7, both orientations, floats and tie-heavy integers', (t) => {
  const rand = rng(11);
  let cases = 0;
  for (let n = 1; n <= 7; n++) {
    for (let m = 1; m <= 7; m++) {
      const gens = [() => rand() * 10 - 3, () => rand() * 10 - 3, () => Math.floor(rand() * 3), () => Math.floor(rand() * 2), () => 1];
      for (const g of gens) {
        const cost = randomCost(rand, n, m, g);
        const got = checkValid(t, cost, n, m, `${n}x${m}`);
        const want = bruteForce(cost, n, m);
        t.true(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${n}x${m}: ${got} vs brute force ${want}`);
        cases++;
      }
    }
  }
  t.is(cases, 49 * 5);
});

test('matches an independent subset DP on random rectangular matrices', (t) => {
  const rand = rng(12);
  for (const [n, m] of [[10, 30], [30, 10], [12, 12], [1, 40], [40, 1], [9, 25], [25, 9]]) {
    for (let trial = 0; trial < 3; trial++) {
      const cost = randomCost(rand, n, m, () => rand() * 100 - 20);
      const got = checkValid(t, cost, n, m, `${n}x${m}`);
      const want = subsetDp(cost, n, m);
      t.true(Math.abs(got - want) <= 1e-9 * Math.abs(want), `${n}x${m}: ${got} vs ${want}`);
    }
  }
});

test('+Infinity entries are forbidden pairs; large finite entries work; infeasible matrices are rejected', (t) => {
  const rand = rng(13);
  let feasible = 0, infeasible = 0;
  for (let n = 1; n <= 6; n++) {
    for (let m = 1; m <= 6; m++) {
      for (let trial = 0; trial < 4; trial++) {
        const cost = randomCost(rand, n, m, () => (rand() < 0.4 ? Infinity : rand() < 0.3 ? 1e12 * rand() : rand()));
        const want = bruteForce(cost, n, m);
        if (want === Infinity) {
          const err = t.throws(() => linearSumAssignment(cost, n, m));
          t.true(isDetkitError(err, 'INVALID_ARGUMENT') && /infeasible/.test(err.message));
          infeasible++;
        } else {
          const got = checkValid(t, cost, n, m, `${n}x${m} inf`);
          t.true(Math.abs(got - want) <= 1e-9 * Math.max(1, want), `${n}x${m}: ${got} vs ${want}`);
          feasible++;
        }
      }
    }
  }
  t.true(feasible > 20 && infeasible > 5, `exercised both: ${feasible} feasible, ${infeasible} infeasible`);
});

test('rejects NaN, -Infinity and a wrong size with a clear error; empty sides give no pairs', (t) => {
  const nan = t.throws(() => linearSumAssignment([0, 1, NaN, 2], 2, 2));
  t.true(isDetkitError(nan, 'INVALID_ARGUMENT') && nan.message.includes('cost[1][0] is NaN'), nan?.message);
  t.true(isDetkitError(t.throws(() => linearSumAssignment([0, -Infinity], 1, 2)), 'INVALID_ARGUMENT'));
  t.true(isDetkitError(t.throws(() => linearSumAssignment([0, 1, 2], 2, 2)), 'INVALID_ARGUMENT'));
  for (const [n, m] of [[0, 5], [5, 0], [0, 0]]) {
    const r = linearSumAssignment(new Float64Array(0), n, m);
    t.is(r.rowIdx.length + r.colIdx.length, 0);
  }
});

test('300 x 100 (DETR-sized) solves in milliseconds', (t) => {
  const rand = rng(14);
  const cost = randomCost(rand, 300, 100, () => rand());
  linearSumAssignment(cost, 300, 100); // warm up the JIT
  const t0 = performance.now();
  const res = linearSumAssignment(cost, 300, 100);
  const ms = performance.now() - t0;
  t.is(res.rowIdx.length, 100);
  t.log(`300x100: ${ms.toFixed(2)} ms`);
  t.true(ms < 100, `${ms} ms`); // generous: the machine is shared; typical is a few ms
});

/** The matcher's cost written out independently from the DAB-DETR formulas. */
function referenceCost(logits: number[], boxes: number[], q: number, c: number, tBoxes: number[], tLabels: number[], w: [number, number, number]) {
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const xyxy = (b: number[], i: number) => [b[4 * i] - b[4 * i + 2] / 2, b[4 * i + 1] - b[4 * i + 3] / 2, b[4 * i] + b[4 * i + 2] / 2, b[4 * i + 1] + b[4 * i + 3] / 2];
  const n = tLabels.length;
  const out: number[] = [];
  for (let i = 0; i < q; i++) {
    for (let j = 0; j < n; j++) {
      const p = sig(logits[i * c + tLabels[j]]);
      const cls = 0.25 * (1 - p) ** 2 * -Math.log(p + 1e-8) - 0.75 * p ** 2 * -Math.log(1 - p + 1e-8);
      let l1 = 0;
      for (let k = 0; k < 4; k++) l1 += Math.abs(boxes[4 * i + k] - tBoxes[4 * j + k]);
      const [a0, a1, a2, a3] = xyxy(boxes, i);
      const [b0, b1, b2, b3] = xyxy(tBoxes, j);
      const inter = Math.max(0, Math.min(a2, b2) - Math.max(a0, b0)) * Math.max(0, Math.min(a3, b3) - Math.max(a1, b1));
      const union = (a2 - a0) * (a3 - a1) + (b2 - b0) * (b3 - b1) - inter;
      const encl = (Math.max(a2, b2) - Math.min(a0, b0)) * (Math.max(a3, b3) - Math.min(a1, b1));
      const eps = 1e-7; // BOX_EPS: the documented guard against zero-area boxes
      const giou = inter / (union + eps) - (encl - union) / (encl + eps);
      out.push(w[0] * cls + w[1] * l1 - w[2] * giou);
    }
  }
  return out;
}

test('cost matrix equals a float64 hand computation of the DAB-DETR focal/L1/GIoU cost', (t) => {
  // Hand-worked: logit 0 -> p = 1/2, class cost = (0.25 - 0.75) * 0.25 * ln 2 (up to the 1e-8 guard).
  const m1 = new HungarianMatcher({ costClass: 1, costBbox: 0, costGiou: 0 });
  const c1 = m1.costMatrix([0, 0], [0.5, 0.5, 0.2, 0.2], 1, 2, { boxes: new Float32Array([0.5, 0.5, 0.2, 0.2]), labels: new Int32Array([1]) });
  t.true(Math.abs(c1[0] + 0.125 * Math.LN2) < 1e-7, `${c1[0]}`);

  const rand = rng(21);
  const q = 6, c = 4, n = 3;
  const logits = Array.from({ length: q * c }, () => rand() * 6 - 3);
  const boxes = Array.from(randomCxcywh(rand, q));
  const tBoxes = Array.from(randomCxcywh(rand, n));
  const tLabels = [2, 0, 2];
  const m = new HungarianMatcher({ costClass: 2, costBbox: 5, costGiou: 2 });
  const got = m.costMatrix(logits, boxes, q, c, { boxes: Float32Array.from(tBoxes), labels: Int32Array.from(tLabels) });
  // Target boxes go through Float32Array in the matcher: compare against the same rounded values.
  const want = referenceCost(logits, boxes, q, c, Array.from(Float32Array.from(tBoxes)), tLabels, [2, 5, 2]);
  t.is(got.length, q * n);
  for (let k = 0; k < want.length; k++) t.true(Math.abs(got[k] - want[k]) < 1e-9, `entry ${k}: ${got[k]} vs ${want[k]}`);
});

test('match() on tensors finds the planted queries and handles an image without targets', (t) => {
  const before = tf.memory().numTensors;
  const rand = rng(31);
  const b = 2, q = 10, c = 5;
  const logits = Array.from({ length: b * q * c }, () => -4 + rand());
  const boxes = Array.from(randomCxcywh(rand, b * q));
  const tBoxes = randomCxcywh(rand, 3);
  const labels = [4, 1, 3];
  const planted = [7, 2, 5]; // target j is predicted exactly by query planted[j] of image 0
  planted.forEach((qi, j) => {
    logits[qi * c + labels[j]] = 4;
    for (let k = 0; k < 4; k++) boxes[qi * 4 + k] = tBoxes[4 * j + k];
  });
  const targets = [
    { boxes: Float32Array.from(tBoxes), labels: Int32Array.from(labels) },
    { boxes: new Float32Array(0), labels: new Int32Array(0) },
  ];
  const lt = tf.tensor3d(logits, [b, q, c]);
  const bt = tf.tensor3d(boxes, [b, q, 4]);
  const matcher = new HungarianMatcher();
  const res = matcher.match({ logits: lt, boxes: bt }, targets);
  t.deepEqual(Array.from(res[0].queryIdx), [2, 5, 7]);
  t.deepEqual(Array.from(res[0].targetIdx), [1, 2, 0]);
  t.is(res[1].queryIdx.length, 0);
  // Same as solving the exposed cost matrix directly.
  const cost = matcher.costMatrix(logits.slice(0, q * c), boxes.slice(0, q * 4), q, c, targets[0]);
  t.deepEqual(Array.from(linearSumAssignment(cost, q, 3).colIdx), Array.from(res[0].targetIdx));
  tf.dispose([lt, bt]);
  t.is(tf.memory().numTensors, before);
});

test('matcher rejects labels outside [0, C), mismatched batch and NaN targets; NaN/Inf predictions are a non-finite loss', (t) => {
  const m = new HungarianMatcher();
  const target = { boxes: new Float32Array([0.5, 0.5, 0.1, 0.1]), labels: new Int32Array([3]) };
  const bad = t.throws(() => m.matchArrays(new Float32Array(3), new Float32Array(4), [1, 1, 3], [target]));
  t.true(isDetkitError(bad, 'INVALID_ARGUMENT') && bad.message.includes('label[0] = 3'), bad?.message);
  t.true(isDetkitError(t.throws(() => m.matchArrays(new Float32Array(4), new Float32Array(4), [1, 1, 4], [target, target])), 'INVALID_ARGUMENT'));
  const nan = t.throws(() => m.matchArrays(new Float32Array(4), new Float32Array([NaN, 0.5, 0.1, 0.1]), [1, 1, 4], [target]));
  t.true(isDetkitError(nan, 'LOSS_NOT_FINITE'), nan?.message);
  t.regex(nan!.message, /predictions are not finite \(boxes: 1 of 4 \(first: NaN\)\).*diverged/);
  const inf = t.throws(() => m.matchArrays(new Float32Array([0, -Infinity, 0, 0]), new Float32Array(4), [1, 1, 4], [target]));
  t.regex(inf!.message, /logits: 1 of 4 \(first: -Infinity\)/);
  const nanTarget = { boxes: new Float32Array([0.5, NaN, 0.1, 0.1]), labels: new Int32Array([1]) };
  const bt = t.throws(() => m.matchArrays(new Float32Array(4), new Float32Array([0.5, 0.5, 0.1, 0.1]), [1, 1, 4], [nanTarget]));
  t.true(isDetkitError(bt, 'INVALID_ARGUMENT') && bt.message.includes('NaN'), bt?.message);
  t.true(isDetkitError(t.throws(() => new HungarianMatcher({ costBbox: -1 })), 'INVALID_ARGUMENT'));
});
