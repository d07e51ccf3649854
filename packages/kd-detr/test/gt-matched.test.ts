import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { runStepsSync } from '@detkit/core';
import type { Batch } from '@detkit/core';
import type { QueryGroupDetector } from '@detkit/detectors';
import { GtMatchedLogitsDistillation, smoothL1 } from '../src/kd-detr.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

const C = 3;
/** Logits favouring `cls` strongly (a confident query), or all low (background). */
const logit = (cls: number | null) => Array.from({ length: C }, (_, k) => (k === cls ? 4 : -4 + 0.3 * k));
const FAR = [0.08, 0.92, 0.05, 0.05];
const A = [0.25, 0.25, 0.2, 0.2]; // image 0, class 0
const B = [0.75, 0.75, 0.2, 0.2]; // image 0, class 1
const G = [0.5, 0.5, 0.3, 0.3]; // image 1, class 2
const near = (b: number[], e: number) => b.map((v, i) => v + (i < 2 ? e : -e));

// Hand-worked: teacher (3 queries) matches A -> t2, B -> t0 in image 0 and G -> t1 in image 1;
// the student's final layer (4 queries) matches A -> s0, B -> s1, G -> s3; its first layer has
// A and B swapped (A -> s1, B -> s0), so each layer must be matched on its own.
const teacher = { logits: [logit(1), logit(null), logit(0), logit(null), logit(2), logit(null)], boxes: [near(B, 0.01), FAR, near(A, 0.02), FAR, near(G, 0.01), FAR] };
const studentFinal = { logits: [logit(0), logit(1), logit(null), logit(null), logit(null), logit(null), logit(null), logit(2)], boxes: [near(A, -0.03), near(B, 0.04), FAR, FAR, FAR, FAR, FAR, near(G, 0.02)] };
const studentFirst = { logits: [logit(1), logit(0), logit(null), logit(null), logit(null), logit(null), logit(null), logit(2)], boxes: [near(B, 0.05), near(A, 0.01), FAR, FAR, FAR, FAR, FAR, near(G, -0.02)] };
const pairsFinal: Array<[number, number]> = [[0, 2], [1, 0], [7, 4]]; // [student row, teacher row], GT order
const pairsFirst: Array<[number, number]> = [[1, 2], [0, 0], [7, 4]];

function batch(): Batch {
  const t = (boxes: number[][], labels: number[], imageId: number) => ({ boxes: Float32Array.from(boxes.flat()), labels: Int32Array.from(labels), imageId, height: 8, width: 8, origHeight: 8, origWidth: 8 });
  return { images: tf.zeros([2, 8, 8, 3]), masks: tf.ones([2, 8, 8]), targets: [t([A, B], [0, 1], 0), t([G], [2], 1)] } as Batch;
}

const fakeTeacher = {
  encode: () => ({}),
  decode: () => ({ detection: { logits: [tf.tensor3d(teacher.logits.flat(), [2, 3, C])], boxes: [tf.tensor3d(teacher.boxes.flat(), [2, 3, 4])] }, groups: [] }),
} as unknown as QueryGroupDetector;

/** float64 reference of the two terms for given pairs. */
function reference(student: typeof studentFinal, pairs: Array<[number, number]>, T = 10, beta = 1 / 9) {
  const sm = (v: number[]) => {
    const m = Math.max(...v.map((x) => x / T));
    const e = v.map((x) => Math.exp(x / T - m));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / z);
  };
  let kl = 0;
  let box = 0;
  for (const [s, t] of pairs) {
    const pt = sm(teacher.logits[t]!);
    const ps = sm(student.logits[s]!);
    kl += (pt.reduce((acc, p, k) => acc + p * (Math.log(p) - Math.log(ps[k]!)), 0) / C) * T * T;
    for (let k = 0; k < 4; k++) {
      const d = Math.abs(student.boxes[s]![k]! - teacher.boxes[t]![k]!);
      box += d < beta ? (0.5 * d * d) / beta : d - 0.5 * beta;
    }
  }
  return { cls: (10 * kl) / pairs.length, bbox: box / (4 * pairs.length) };
}

test.serial('gt-matched-logits: pairs share a ground-truth box, each student layer matched on its own; values vs float64; no leaks', async (t) => {
  const method = new GtMatchedLogitsDistillation();
  const b = batch();
  const before = tf.memory().numTensors;
  const prepared = await method.prepare({ teacher: fakeTeacher, batch: b, iter: 0 });
  t.deepEqual(prepared.teacherByGt.map((x) => Array.from(x)), [[2, 0], [1]]);
  const det = {
    logits: [tf.tensor3d(studentFirst.logits.flat(), [2, 4, C]), tf.tensor3d(studentFinal.logits.flat(), [2, 4, C])],
    boxes: [tf.tensor3d(studentFirst.boxes.flat(), [2, 4, 4]), tf.tensor3d(studentFinal.boxes.flat(), [2, 4, 4])],
  };
  const terms = runStepsSync(method.losses({ outputs: { detection: det }, batch: b, prepared } as never));
  t.deepEqual(Object.keys(terms).sort(), ['kd_gtmatch_bbox', 'kd_gtmatch_bbox_0', 'kd_gtmatch_cls', 'kd_gtmatch_cls_0']);
  t.deepEqual(method.expectedTerms({ numDecoderLayers: 2 } as QueryGroupDetector).sort(), Object.keys(terms).sort());
  const got = (k: string) => terms[k]!.dataSync()[0]!;
  for (const [suffix, student, pairs] of [['', studentFinal, pairsFinal], ['_0', studentFirst, pairsFirst]] as const) {
    const want = reference(student, pairs as Array<[number, number]>);
    t.true(Math.abs(got(`kd_gtmatch_cls${suffix}`) - want.cls) < 1e-4 * Math.max(1, want.cls), `cls${suffix}: ${got(`kd_gtmatch_cls${suffix}`)} vs ${want.cls}`);
    t.true(Math.abs(got(`kd_gtmatch_bbox${suffix}`) - want.bbox) < 1e-6, `bbox${suffix}: ${got(`kd_gtmatch_bbox${suffix}`)} vs ${want.bbox}`);
  }
  // The swapped first layer pairs differently from the final one, so its loss differs.
  t.not(got('kd_gtmatch_bbox_0'), got('kd_gtmatch_bbox'));
  tf.dispose(Object.values(terms));
  tf.dispose([...det.logits, ...det.boxes]);
  prepared.dispose();
  t.is(tf.memory().numTensors, before);
  tf.dispose([b.images, b.masks]);
});

test.serial('gt-matched-logits: a batch without objects gives zero terms, not NaN', async (t) => {
  const method = new GtMatchedLogitsDistillation();
  const b = { ...batch(), targets: batch().targets.map((x) => ({ ...x, boxes: new Float32Array(0), labels: new Int32Array(0) })) };
  const prepared = await method.prepare({ teacher: fakeTeacher, batch: b, iter: 0 });
  const det = { logits: [tf.tensor3d(studentFinal.logits.flat(), [2, 4, C])], boxes: [tf.tensor3d(studentFinal.boxes.flat(), [2, 4, 4])] };
  const terms = runStepsSync(method.losses({ outputs: { detection: det }, batch: b, prepared } as never));
  t.deepEqual(Object.fromEntries(Object.entries(terms).map(([k, v]) => [k, v.dataSync()[0]])), { kd_gtmatch_cls: 0, kd_gtmatch_bbox: 0 });
  prepared.dispose();
});

test('gt-matched-logits rejects a non-positive temperature or beta, naming the key', (t) => {
  t.throws(() => new GtMatchedLogitsDistillation({ beta: 0 }), { message: /distill\.beta/ });
  t.throws(() => new GtMatchedLogitsDistillation({ temperature: -1 }), { message: /distill\.temperature/ });
  t.is(new GtMatchedLogitsDistillation({ temperature: undefined }).options.temperature, 10);
});

test('smoothL1 matches float64 on both branches, and its gradient matches finite differences', (t) => {
  const beta = 1 / 9;
  const p = [0.1, 0.5, -0.3, 0.02, 0.9];
  const q = [0.12, 0.2, -0.31, 0.3, 0.9];
  const f64 = (x: number[]) => x.reduce((acc, v, i) => {
    const d = Math.abs(v - q[i]!);
    return acc + (d < beta ? (0.5 * d * d) / beta : d - 0.5 * beta);
  }, 0);
  const got = tf.tidy(() => tf.sum(smoothL1(tf.tensor1d(p), tf.tensor1d(q), beta)).dataSync()[0]!);
  t.true(Math.abs(got - f64(p)) < 1e-6);
  const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(smoothL1(x, tf.tensor1d(q), beta)))(tf.tensor1d(p)).dataSync().slice());
  const h = 1e-6;
  p.forEach((_, k) => {
    const up = p.slice();
    const dn = p.slice();
    up[k]! += h;
    dn[k]! -= h;
    const fd = (f64(up) - f64(dn)) / (2 * h);
    t.true(Math.abs(g[k]! - fd) < 1e-3, `d/dp[${k}]: ${g[k]} vs ${fd}`);
  });
});
