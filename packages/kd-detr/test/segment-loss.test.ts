import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { KL_NORMALIZERS, kdGroupsLosses, kdLocalSums, kdPointLoss, kdSegmentLosses, resolveKdLossOptions, type KdSegment, type PointOutputs } from '../src/kd-detr.js';

// The batched loss is checked against kdPointLoss per segment, which loss.test.ts checks against
// a float64 computation of the specification.

test.before(async () => {
  await tf.setBackend('cpu');
});

const rand = (seed: number) => {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
};

function outputs(b: number, m: number, c: number, seed: number): PointOutputs {
  const r = rand(seed);
  const logits = Array.from({ length: b * m * c }, () => 8 * r() - 5);
  const boxes = Array.from({ length: b * m }, () => [0.2 + 0.6 * r(), 0.2 + 0.6 * r(), 0.1 + 0.3 * r(), 0.1 + 0.3 * r()]).flat();
  return { logits: tf.tensor3d(logits, [b, m, c]), boxes: tf.tensor3d(boxes, [b, m, 4]) };
}

/** Two groups of different sizes, the teacher of each shared by two student layers (as in KD-DETR). */
function segments(): KdSegment[] {
  const tA = outputs(2, 3, 5, 11);
  const tB = outputs(2, 7, 5, 12);
  return [
    { teacher: tA, student: outputs(2, 3, 5, 21) },
    { teacher: tA, student: outputs(2, 3, 5, 22) },
    { teacher: tB, student: outputs(2, 7, 5, 23) },
    { teacher: tB, student: outputs(2, 7, 5, 24) },
  ];
}

const variants = [
  ...KL_NORMALIZERS.map((klNormalizer) => ({ klNormalizer })),
  { foregroundWeighting: false },
  { weights: { cls: 0 } },
  { weights: { l1: 0, giou: 0 }, temperature: 2 },
];

test('same values as kdPointLoss per segment, for every normaliser, weighting and term subset', (t) => {
  const segs = segments();
  for (const v of variants) {
    const opts = resolveKdLossOptions(v);
    const got = kdSegmentLosses(segs, opts);
    segs.forEach((s, i) => {
      const ref = kdPointLoss(s.teacher, s.student, opts);
      t.deepEqual(Object.keys(got[i]!).sort(), Object.keys(ref).sort(), JSON.stringify(v));
      for (const [k, r] of Object.entries(ref)) {
        const a = got[i]![k as keyof typeof ref]!.dataSync()[0]!;
        const b = r!.dataSync()[0]!;
        t.true(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${JSON.stringify(v)} segment ${i} ${k}: ${a} vs ${b}`);
      }
    });
  }
});

test('same gradients w.r.t. student logits and boxes as kdPointLoss per segment, and none to the teacher', (t) => {
  const segs = segments();
  const opts = resolveKdLossOptions();
  const vars = segs.flatMap((s) => [tf.variable(s.student.logits), tf.variable(s.student.boxes)]);
  const teacherVar = tf.variable(segs[0]!.teacher.logits);
  const as = (i: number): KdSegment[] =>
    segs.map((s, k) => ({ teacher: k < 2 ? { logits: teacherVar as unknown as tf.Tensor3D, boxes: s.teacher.boxes } : s.teacher, student: { logits: vars[2 * k] as unknown as tf.Tensor3D, boxes: vars[2 * k + 1] as unknown as tf.Tensor3D } })).slice(0, i);
  // Weighted sum of every term so each term's gradient counts differently.
  const total = (losses: Array<Partial<Record<string, tf.Scalar>>>) =>
    tf.addN(losses.flatMap((l, i) => Object.values(l).map((v, j) => tf.mul(v!, 1 + i + 0.3 * j)))) as tf.Scalar;
  const fused = tf.variableGrads(() => total(kdSegmentLosses(as(4), opts)), [...vars, teacherVar]);
  const ref = tf.variableGrads(() => total(as(4).map((s) => kdPointLoss(s.teacher, s.student, opts))), vars);
  t.true(Math.abs(fused.value.dataSync()[0]! - ref.value.dataSync()[0]!) < 1e-4);
  for (const v of vars) {
    const a = fused.grads[v.name]!.dataSync();
    const b = ref.grads[v.name]!.dataSync();
    const scale = Math.max(...Array.from(b, Math.abs));
    t.true(scale > 0, `gradient of ${v.name} is zero`);
    const err = Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)));
    t.true(err <= 1e-5 * Math.max(1, scale), `${v.name}: max |diff| ${err}`);
  }
  const tg = fused.grads[teacherVar.name];
  t.true(tg === undefined || tf.sum(tf.abs(tg)).dataSync()[0] === 0, 'the teacher gets no gradient');
});

test('kdGroupsLosses names every (group, layer) term like kdGroupLosses, leaks nothing, and fails on bad input', (t) => {
  const opts = resolveKdLossOptions();
  const segs = segments();
  const groups = [
    { name: 'general', teacher: segs[0]!.teacher, student: { logits: [segs[0]!.student.logits, segs[1]!.student.logits], boxes: [segs[0]!.student.boxes, segs[1]!.student.boxes] } },
    { name: 'specific', teacher: segs[2]!.teacher, student: { logits: [segs[2]!.student.logits, segs[3]!.student.logits], boxes: [segs[2]!.student.boxes, segs[3]!.student.boxes] } },
  ];
  const before = tf.memory().numTensors;
  const terms = tf.tidy(() => {
    const r = kdGroupsLosses(groups, opts);
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.dataSync()[0]!]));
  });
  t.is(tf.memory().numTensors, before);
  t.deepEqual(Object.keys(terms).sort(), ['general', 'specific'].flatMap((g) => ['cls', 'l1', 'giou'].flatMap((x) => [`kd_${g}_${x}`, `kd_${g}_${x}_0`])).sort());
  const ref = kdPointLoss(segs[2]!.teacher, segs[2]!.student, opts);
  t.true(Math.abs(terms['kd_specific_giou_0']! - ref.giou!.dataSync()[0]!) < 1e-5);
  const empty = { logits: tf.zeros([1, 0, 5]) as tf.Tensor3D, boxes: tf.zeros([1, 0, 4]) as tf.Tensor3D };
  t.throws(() => kdSegmentLosses([{ teacher: empty, student: empty }], opts), { message: /no distillation points/ });
  t.throws(() => kdSegmentLosses([{ teacher: segs[0]!.teacher, student: segs[2]!.student }], opts), { message: /differ in shape/ });
  t.throws(() => kdGroupsLosses([{ name: 'g', teacher: segs[0]!.teacher, student: { logits: [], boxes: [] } }], opts), { message: /0 logit layers/ });
});

test('global sums: a rank divides by global / worldSize (checked against the local values scaled), and kdLocalSums gives the batch\'s own figures', async (t) => {
  const segs = segments();
  for (const v of variants) {
    const opts = resolveKdLossOptions(v);
    const local = kdSegmentLosses(segs, opts);
    // Figures of a global batch of which this is one share out of 3, with 2.5x its weight sum, 4x its images and 3x its points.
    const withGlobal = await Promise.all(
      segs.map(async (s) => {
        const own = await kdLocalSums(s.teacher.logits, opts.foregroundWeighting);
        return { ...s, global: { worldSize: 3, weightSum: 2.5 * own.weightSum, batch: 4 * own.batch, points: 3 * own.points }, own };
      }),
    );
    const got = kdSegmentLosses(withGlobal, opts);
    withGlobal.forEach((s, i) => {
      t.is(s.own.batch, s.student.logits.shape[0]);
      t.is(s.own.points, s.student.logits.shape[0] * s.student.logits.shape[1]);
      // local value * local divisor / (global divisor / 3)
      const factor = (term: string) => {
        if (term !== 'cls' || opts.klNormalizer === 'weights') return 3 / 2.5;
        return { sum: 3, batch: 3 / 4, points: 3 / 3 }[opts.klNormalizer as 'sum' | 'batch' | 'points'];
      };
      for (const [k, r] of Object.entries(local[i]!)) {
        const a = got[i]![k as 'cls']!.dataSync()[0]!;
        const b = r!.dataSync()[0]! * factor(k);
        t.true(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${JSON.stringify(v)} segment ${i} ${k}: ${a} vs ${b}`);
      }
    });
  }
  t.throws(() => kdSegmentLosses([segs[0]!, { ...segs[1]!, global: { worldSize: 2, weightSum: 1, batch: 1, points: 1 } }], resolveKdLossOptions()), { message: /every segment or none/ });
});
