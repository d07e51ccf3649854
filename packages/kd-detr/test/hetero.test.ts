// Heterogeneous KD-DETR (DETR teacher -> CNN student): the loss on hand-made tensors against a
// float64 computation, the background and top-class rules through the gradient, start-up
// errors for mismatched teacher / student / method, and 20 runner iterations end to end.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { isDetkitError, type Hook, type TypedConfig } from '@detkit/core';
import type { DistillBoxes, FasterRcnn, QueryGroupDetector, RoiDistillable, RoiPredictions } from '@detkit/detectors';
import { GeneralSampler, HeteroRoiDistillation, KdDetrHook, kdSegmentLosses, resolveKdLossOptions, studentAtTeacherClass, type KdLossOptions } from '../src/kd-detr.js';
import { changedSince, recordIterations, snapshot, testRegistry, tinyModel, tinyRunner, tmp, writeTeacher } from './helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

// B=1, M=2 points, C=3 classes. Point 0: the teacher is confident in class 0; point 1: background-ish, top class 1.
const T_LOGITS = [[2, -1, 0], [-3, -2, -4]];
const T_BOXES = [[0.5, 0.5, 0.4, 0.4], [0.3, 0.3, 0.2, 0.2]];
const S_LOGITS = [[1, 0, -1, 5], [0, 1, 0.5, -2]]; // background last
const S_BOXES = [
  [[0.52, 0.48, 0.42, 0.38], [0.1, 0.1, 0.1, 0.1], [0.9, 0.9, 0.1, 0.1]],
  [[0.7, 0.7, 0.3, 0.3], [0.35, 0.28, 0.25, 0.18], [0.2, 0.8, 0.1, 0.4]],
];
const TOP = [0, 1];

const softmax = (v: number[]) => {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
};
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
function giou(a: number[], b: number[]): number {
  const xy = (q: number[]) => [q[0]! - q[2]! / 2, q[1]! - q[3]! / 2, q[0]! + q[2]! / 2, q[1]! + q[3]! / 2];
  const [ax0, ay0, ax1, ay1] = xy(a);
  const [bx0, by0, bx1, by1] = xy(b);
  const inter = Math.max(0, Math.min(ax1!, bx1!) - Math.max(ax0!, bx0!)) * Math.max(0, Math.min(ay1!, by1!) - Math.max(ay0!, by0!));
  const union = a[2]! * a[3]! + b[2]! * b[3]! - inter;
  const enclosing = (Math.max(ax1!, bx1!) - Math.min(ax0!, bx0!)) * (Math.max(ay1!, by1!) - Math.min(ay0!, by0!));
  return inter / union - (enclosing - union) / enclosing;
}

/** The issue's loss in float64: KL over the foreground classes only, box of the teacher's top class. */
function expected(o: { temperature: number; foregroundWeighting: boolean }, points = [0, 1]) {
  const T = o.temperature;
  let cls = 0, l1 = 0, gi = 0, wSum = 0;
  for (const i of points) {
    const w = o.foregroundWeighting ? Math.max(...T_LOGITS[i]!.map(sigmoid)) : 1;
    const pt = softmax(T_LOGITS[i]!.map((x) => x / T));
    const ps = softmax(S_LOGITS[i]!.slice(0, 3).map((x) => x / T));
    const kl = (pt.reduce((a, p, c) => a + p * (Math.log(p) - Math.log(ps[c]!)), 0) / 3) * T * T;
    const sb = S_BOXES[i]![TOP[i]!]!;
    cls += w * kl;
    l1 += (w * sb.reduce((a, v, c) => a + Math.abs(v - T_BOXES[i]![c]!), 0)) / 4;
    gi += w * (1 - giou(sb, T_BOXES[i]!));
    wSum += w;
  }
  return { cls, l1: (5 * l1) / wSum, giou: (2 * gi) / wSum };
}

function terms(o: KdLossOptions, studentLogits = S_LOGITS) {
  return tf.tidy(() => {
    const teacher = { logits: tf.tensor3d([T_LOGITS]), boxes: tf.tensor3d([T_BOXES]) };
    const pred: RoiPredictions = { logits: tf.tensor3d([studentLogits]), boxes: tf.tensor4d([S_BOXES]) };
    const loss = kdSegmentLosses([{ teacher, student: studentAtTeacherClass(teacher, pred) }], resolveKdLossOptions(o))[0]!;
    return Object.fromEntries(Object.entries(loss).map(([k, v]) => [k, v!.dataSync()[0]!]));
  });
}

for (const o of [{ temperature: 2, foregroundWeighting: true }, { temperature: 10, foregroundWeighting: true }, { temperature: 2, foregroundWeighting: false }]) {
  test.serial(`loss on hand-made tensors equals the float64 computation (${JSON.stringify(o)})`, (t) => {
    const got = terms(o);
    const want = expected(o);
    for (const k of ['cls', 'l1', 'giou'] as const) t.true(Math.abs(got[k]! - want[k]) < 1e-5 * Math.max(1, Math.abs(want[k])), `${k}: ${got[k]} vs ${want[k]}`);
  });
}

test.serial('the background logit takes no part; only the teacher-top-class box gets a gradient', (t) => {
  const a = terms({ temperature: 2 });
  const b = terms({ temperature: 2 }, S_LOGITS.map((r) => [...r.slice(0, 3), r[3]! - 7]));
  t.deepEqual(a, b);
  const [gl, gb] = tf.tidy(() => {
    const teacher = { logits: tf.tensor3d([T_LOGITS]), boxes: tf.tensor3d([T_BOXES]) };
    const g = tf.grads((l: tf.Tensor, bx: tf.Tensor) => {
      const loss = kdSegmentLosses([{ teacher, student: studentAtTeacherClass(teacher, { logits: l as tf.Tensor3D, boxes: bx as tf.Tensor4D }) }], resolveKdLossOptions({}))[0]!;
      return tf.addN(Object.values(loss) as tf.Scalar[]);
    })([tf.tensor3d([S_LOGITS]), tf.tensor4d([S_BOXES])]);
    return [g[0]!.arraySync() as number[][][], g[1]!.arraySync() as number[][][][]];
  });
  for (let i = 0; i < 2; i++) {
    t.is(gl[0]![i]![3], 0, `background logit of point ${i}`);
    t.true(gl[0]![i]!.slice(0, 3).some((v) => v !== 0));
    for (let c = 0; c < 3; c++) {
      const nonzero = gb[0]![i]![c]!.some((v) => v !== 0);
      t.is(nonzero, c === TOP[i], `point ${i} class ${c}`);
    }
  }
});

// boxSpace 'roi': the L1 term compares R-CNN deltas relative to each point's box (the student's own box-loss space).
const POINTS = [[0.5, 0.52, 0.38, 0.44], [0.33, 0.3, 0.22, 0.2]];
const delta = (b: number[], p: number[]) => [(10 * (b[0]! - p[0]!)) / p[2]!, (10 * (b[1]! - p[1]!)) / p[3]!, 5 * Math.log(b[2]! / p[2]!), 5 * Math.log(b[3]! / p[3]!)];

/** Float64: 5 * sum_i w_i mean_4 |delta(s_i) - delta(t_i)| / sum_i w_i, s_i the student's box for the teacher's top class. */
function expectedRoiL1(sBoxes: number[][][]) {
  let l1 = 0, wSum = 0;
  for (let i = 0; i < 2; i++) {
    const w = Math.max(...T_LOGITS[i]!.map(sigmoid));
    const ds = delta(sBoxes[i]![TOP[i]!]!, POINTS[i]!), dt = delta(T_BOXES[i]!, POINTS[i]!);
    l1 += (w * ds.reduce((a, v, c) => a + Math.abs(v - dt[c]!), 0)) / 4;
    wSum += w;
  }
  return (5 * l1) / wSum;
}

/** The method's loss step on the hand-made tensors, through a stand-in RoI student that returns them (and records the boxes it was asked for). */
function methodTerms(boxSpace: 'image' | 'roi', studentBoxes: tf.Tensor4D, asked: DistillBoxes[] = [], minTeacherIou = 0) {
  const method = new HeteroRoiDistillation([new GeneralSampler({ name: 'p', count: 2 })], resolveKdLossOptions({ temperature: 2 }), boxSpace, minTeacherIou);
  const teacher = { logits: tf.tensor3d([T_LOGITS]), boxes: tf.tensor3d([T_BOXES]) };
  const student = { predictAtBoxes: (_f: unknown, d: DistillBoxes) => (asked.push(d), { logits: tf.tensor3d([S_LOGITS]), boxes: studentBoxes }) };
  const prepared = { groups: [{ name: 'p', boxes: { perImage: [Float32Array.from(POINTS.flat())] }, teacher }], later: [], dispose: () => {} };
  return method.losses({ student: student as unknown as RoiDistillable, outputs: { roiFeatures: {} }, batch: undefined as never, prepared });
}

test.serial("boxSpace 'roi': the L1 term equals the float64 delta computation, GIoU and KL are unchanged, the gradient matches central differences", (t) => {
  const asked: DistillBoxes[] = [];
  tf.tidy(() => void methodTerms('roi', tf.tensor4d([S_BOXES]), asked));
  t.deepEqual(Array.from(asked[0]!.perImage![0]!), POINTS.flat().map(Math.fround), 'the student pools the points');
  const roi = tf.tidy(() => Object.fromEntries(Object.entries(methodTerms('roi', tf.tensor4d([S_BOXES]))).map(([k, v]) => [k, v.dataSync()[0]!])));
  const image = tf.tidy(() => Object.fromEntries(Object.entries(methodTerms('image', tf.tensor4d([S_BOXES]))).map(([k, v]) => [k, v.dataSync()[0]!])));
  const want = expectedRoiL1(S_BOXES);
  t.true(Math.abs(roi.kd_p_l1! - want) < 1e-5 * want, `${roi.kd_p_l1} vs ${want}`);
  t.true(Math.abs(roi.kd_p_l1! - image.kd_p_l1!) > 1, 'the spaces differ');
  t.is(roi.kd_p_cls, image.kd_p_cls);
  t.is(roi.kd_p_giou, image.kd_p_giou);
  const gradT = tf.tidy(() => tf.grad((b: tf.Tensor) => methodTerms('roi', b as tf.Tensor4D).kd_p_l1!)(tf.tensor4d([S_BOXES])));
  const grad = (gradT.arraySync() as number[][][][])[0]!;
  gradT.dispose();
  const h = 1e-6;
  for (let i = 0; i < 2; i++) {
    for (let c = 0; c < 3; c++) {
      for (let k = 0; k < 4; k++) {
        const at = (e: number) => expectedRoiL1(S_BOXES.map((r, ii) => r.map((b, cc) => b.map((v, kk) => (ii === i && cc === c && kk === k ? v + e : v)))));
        const fd = (at(h) - at(-h)) / (2 * h);
        t.true(Math.abs(grad[i]![c]![k]! - fd) < 1e-3 * Math.max(1, Math.abs(fd)), `point ${i} class ${c} coord ${k}: ${grad[i]![c]![k]} vs ${fd}`);
      }
    }
  }
});

test.serial('minTeacherIou drops the points whose teacher box is out of the RoI\'s reach, from every term and normaliser', (t) => {
  // IoU(teacher box, point): 0.868 for point 0, 0.75 for point 1 (worked by hand).
  const value = (minIou: number) => tf.tidy(() => Object.fromEntries(Object.entries(methodTerms('image', tf.tensor4d([S_BOXES]), [], minIou)).map(([k, v]) => [k, v.dataSync()[0]!])));
  const check = (got: Record<string, number>, want: Record<string, number>, what: string) => {
    for (const k of ['cls', 'l1', 'giou']) t.true(Math.abs(got[`kd_p_${k}`]! - want[k]!) < 1e-5 * Math.max(1, Math.abs(want[k]!)), `${what} ${k}: ${got[`kd_p_${k}`]} vs ${want[k]}`);
  };
  const o = { temperature: 2, foregroundWeighting: true };
  check(value(0.7), expected(o), 'both within reach');
  check(value(0.8), expected(o, [0]), 'point 1 dropped');
  const none = value(0.9);
  t.is(none.kd_p_cls, 0);
  t.true(Object.values(none).every(Number.isFinite), 'no point within reach: zero terms, no NaN');
  t.throws(() => new HeteroRoiDistillation([new GeneralSampler()], resolveKdLossOptions({}), 'image', 1.5), { message: /minTeacherIou must be in \[0, 1\], got 1.5/ });
});

test.serial('an unknown boxSpace fails at build naming the key', async (t) => {
  const { registry } = await testRegistry();
  const e = await t.throwsAsync(registry.build('distill-method', { type: 'kd-detr-hetero', samplers: [{ type: 'proposals' }], boxSpace: 'pixels' }));
  t.true(isDetkitError(e) && e.code === 'CONFIG_INVALID' && e.details?.key === 'distill.boxSpace', String(e));
  t.regex(e!.message, /'image', 'roi', got "pixels"/);
});

/** A Faster R-CNN small enough for 16x16 images on cpu. */
function tinyFasterRcnn(over: Record<string, unknown> = {}): TypedConfig {
  return {
    type: 'faster-rcnn',
    numClasses: 3,
    backbone: { type: 'resnet', depth: 18, baseWidth: 8, blocks: [1, 1], returnStages: [0, 1], seed: 2 },
    fpnChannels: 8,
    anchorSizes: [[4], [8], [16]],
    rpn: { batchSizePerImage: 32, preNmsTopNTrain: 100, postNmsTopNTrain: 20, preNmsTopNTest: 100, postNmsTopNTest: 20 },
    roiHead: { batchSizePerImage: 16, representationSize: 16, outputSize: 3, canonicalScale: 8, canonicalLevel: 3 },
    seed: 4,
    ...over,
  };
}

async function run(studentCfg: TypedConfig, teacherCfg: TypedConfig, method: string, iters = 2, samplerList?: object[], extra: Record<string, unknown> = {}) {
  const { registry, logger } = await testRegistry();
  const dir = tmp();
  const teacher = await writeTeacher(registry, dir, teacherCfg);
  const student = await registry.build<QueryGroupDetector>('detector', studentCfg);
  const samplers = method.startsWith('kd-detr') ? { samplers: samplerList ?? [{ type: 'general', count: 7 }, { type: 'specific' }] } : {};
  const hook = await registry.build<KdDetrHook>('hook', { type: 'kd-detr', method, teacher, ...samplers, ...extra });
  const runner = tinyRunner(registry, student, [hook as Hook], iters, dir);
  return { registry, logger, student, hook, runner };
}

test.serial('a DETR student with a CNN teacher fails at start naming both and what is missing', async (t) => {
  const { runner } = await run(tinyModel(), tinyFasterRcnn(), 'kd-detr');
  const e = await t.throwsAsync(runner.train());
  t.true(isDetkitError(e) && e.code === 'MODEL_CONTRACT');
  t.regex(e!.message, /the teacher 'faster-rcnn' FasterRcnn \(a CNN detector: RoI contract\) lacks encode, decode, detectionQueries/);
  t.regex(e!.message, /student: DabDetr \(a DETR: query-group contract\)/);
});

for (const method of ['kd-detr', 'hungarian-logits', 'gt-matched-logits']) {
  test.serial(`a CNN student with '${method}' (needs query groups) fails at start naming both and what is missing`, async (t) => {
    const { runner } = await run(tinyFasterRcnn(), tinyModel({ seed: 11, hiddenDim: 24, numQueries: 5 }), method);
    const e = await t.throwsAsync(runner.train());
    t.true(isDetkitError(e) && e.code === 'MODEL_CONTRACT');
    t.regex(e!.message, new RegExp(`method '${method}' distils through query groups, but the student FasterRcnn \\(a CNN detector: RoI contract\\) lacks encode, decode, detectionQueries`));
    t.regex(e!.message, /\(teacher: 'dab-detr'\)\. For a CNN student choose method 'kd-detr-hetero'/);
  });
}

test.serial("a DETR student with 'kd-detr-hetero' fails at start naming both and what is missing", async (t) => {
  const { runner } = await run(tinyModel(), tinyModel({ seed: 11, hiddenDim: 24, numQueries: 5 }), 'kd-detr-hetero');
  const e = await t.throwsAsync(runner.train());
  t.true(isDetkitError(e) && e.code === 'MODEL_CONTRACT');
  t.regex(e!.message, /method 'kd-detr-hetero' distils a DETR teacher into a CNN student through RoIs, but the student DabDetr \(a DETR: query-group contract\) lacks predictAtBoxes \(teacher: 'dab-detr'\)\. For a DETR student choose method 'kd-detr'/);
});

test.serial('20 heterogeneous iterations: kd terms per group, finite, the student trains, no tensor growth', async (t) => {
  const { student, hook, runner, logger } = await run(tinyFasterRcnn(), tinyModel({ seed: 11, hiddenDim: 24, numQueries: 5 }), 'kd-detr-hetero', 20);
  const { iters, tensors } = recordIterations(runner);
  const before = snapshot(student);
  await runner.train();
  t.true(changedSince(student, before).length > 0, 'the student trained');
  const kd = Object.keys(iters[0]!).filter((k) => k.startsWith('kd-detr.')).sort();
  t.deepEqual(kd, ['general', 'specific'].flatMap((g) => ['cls', 'giou', 'l1'].map((x) => `kd-detr.kd_${g}_${x}`)).sort());
  t.true(['loss_objectness', 'loss_rpn_box_reg', 'loss_classifier', 'loss_box_reg'].every((k) => k in iters[0]!));
  t.true(iters.every((l) => Object.values(l).every(Number.isFinite)));
  t.is(tensors[19], tensors[2], `tensor counts ${tensors.join(',')}`);
  t.true(logger.lines.some((l) => /method 'kd-detr-hetero', 6 loss terms/.test(l)), logger.lines.join('\n'));
  hook.dispose();
  runner.dispose();
  student.dispose();
});

test.serial("boxSpace 'roi' and minTeacherIou end to end: proposal points, finite terms, no tensor growth", async (t) => {
  const { student, hook, runner } = await run(tinyFasterRcnn(), tinyModel({ seed: 11, hiddenDim: 24, numQueries: 5 }), 'kd-detr-hetero', 6, [{ type: 'proposals', count: 6 }, { type: 'general', count: 7 }], { boxSpace: 'roi', minTeacherIou: 0.3 });
  const { iters, tensors } = recordIterations(runner);
  await runner.train();
  t.true(iters.every((l) => Object.values(l).every(Number.isFinite)));
  t.true(iters.some((l) => l['kd-detr.kd_proposals_l1']! > 0));
  t.is(tensors[5], tensors[2], `tensor counts ${tensors.join(',')}`);
  hook.dispose();
  runner.dispose();
  student.dispose();
});

test.serial("proposal points: the teacher decodes exactly the student's proposals of the iteration, per image, and the student pools them; no tensor growth", async (t) => {
  const { student, hook, runner } = await run(tinyFasterRcnn(), tinyModel({ seed: 11, hiddenDim: 24, numQueries: 5 }), 'kd-detr-hetero', 12, [{ type: 'proposals', count: 6 }, { type: 'general', count: 7 }]);
  const frcnn = student as unknown as FasterRcnn;
  const { iters, tensors } = recordIterations(runner);
  const seen: { proposals?: Float32Array[]; teacherAnchors?: number[][][]; pooled?: Float32Array[] } = {};
  const distillationProposals = frcnn.distillationProposals.bind(frcnn);
  frcnn.distillationProposals = (outputs, count) => (seen.proposals = distillationProposals(outputs, count));
  const predictAtBoxes = frcnn.predictAtBoxes.bind(frcnn);
  frcnn.predictAtBoxes = (f, d) => {
    if (d.perImage) seen.pooled = d.perImage.map((b) => Float32Array.from(b));
    return predictAtBoxes(f, d);
  };
  const probe: Hook = {
    name: 'probe',
    priority: 99,
    beforeRun: () => {
      const teacher = hook.teacher as unknown as QueryGroupDetector;
      const decode = teacher.decode.bind(teacher);
      teacher.decode = (enc, groups, opts) => {
        const a = groups[0]!.anchors;
        if (a.rank === 3) seen.teacherAnchors = tf.tidy(() => tf.sigmoid(a).arraySync() as number[][][]);
        return decode(enc, groups, opts);
      };
    },
  };
  (runner as unknown as { hooks: { hooks: Hook[] } }).hooks.hooks.push(probe);
  await runner.train();
  const m = Math.min(...seen.proposals!.map((p) => p.length / 4));
  t.true(m > 0 && m <= 6);
  t.is(seen.teacherAnchors!.length, 2, 'one set of points per image');
  seen.proposals!.forEach((p, i) => {
    t.is(seen.teacherAnchors![i]!.length, m);
    t.is(seen.pooled![i]!.length, 4 * m);
    for (let k = 0; k < 4 * m; k++) {
      t.true(Math.abs(seen.teacherAnchors![i]![Math.floor(k / 4)]![k % 4]! - Math.min(Math.max(p[k]!, 1e-4), 1 - 1e-4)) < 1e-5, `image ${i} value ${k}`);
      t.is(seen.pooled![i]![k], p[k], `pooled image ${i} value ${k}`);
    }
  });
  const kd = Object.keys(iters[0]!).filter((k) => k.startsWith('kd-detr.')).sort();
  t.deepEqual(kd, ['general', 'proposals'].flatMap((g) => ['cls', 'giou', 'l1'].map((x) => `kd-detr.kd_${g}_${x}`)).sort());
  t.true(iters.every((l) => Object.values(l).every(Number.isFinite)));
  t.true(iters.some((l) => l['kd-detr.kd_proposals_cls']! > 0));
  t.is(tensors[11], tensors[2], `tensor counts ${tensors.join(',')}`);
  hook.dispose();
  runner.dispose();
  student.dispose();
});

test.serial("a proposals sampler with a DETR student's method fails at build naming the sampler", async (t) => {
  const { registry } = await testRegistry();
  const e = await t.throwsAsync(registry.build('distill-method', { type: 'kd-detr', samplers: [{ type: 'proposals' }] }));
  t.true(isDetkitError(e) && e.code === 'CONFIG_INVALID' && e.details?.key === 'distill.samplers', String(e));
  t.regex(e!.message, /sampler 'proposals' \(type 'proposals'\) takes a CNN student's own proposals, which only method 'kd-detr-hetero' reads/);
});

test.serial("a DINO teacher's specific points (selected per image) reach a CNN student as per-image RoIs", async (t) => {
  const dino = tinyModel({ type: 'dino', numFeatureLevels: 2, numPoints: 2, groupNormGroups: 4, dnNumber: 4, seed: 11, hiddenDim: 24, numQueries: 5 });
  const { student, hook, runner } = await run(tinyFasterRcnn(), dino, 'kd-detr-hetero', 3);
  const frcnn = student as unknown as FasterRcnn;
  const pooled: number[] = [];
  const predictAtBoxes = frcnn.predictAtBoxes.bind(frcnn);
  frcnn.predictAtBoxes = (f, d) => (d.perImage && pooled.push(d.perImage.length), predictAtBoxes(f, d));
  const { iters, tensors } = recordIterations(runner);
  await runner.train();
  t.deepEqual(pooled, [2, 2, 2], 'the specific group is per image (2 images) every iteration');
  t.true(iters.every((l) => Number.isFinite(l['kd-detr.kd_specific_cls']) && Number.isFinite(l['kd-detr.kd_general_l1'])));
  t.is(tensors[2], tensors[1]);
  hook.dispose();
  runner.dispose();
  student.dispose();
});
