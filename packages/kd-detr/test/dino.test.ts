// KD-DETR with DINO on both sides: the student's distillation groups are decoded beside its own
// denoising queries, the teacher (eval mode, no denoising) decodes the same points through the
// query-group contract; its specific points are its per-image query selection.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { type Hook } from '@detkit/core';
import type { Dino, QueryGroup, QueryGroupDetector } from '@detkit/detectors';
import { KdDetrHook } from '../src/kd-detr.js';
import { resolveKdLossOptions } from '../src/loss/kd-loss.js';
import { ConsistentPointsDistillation } from '../src/methods/consistent-points.js';
import { contentOf } from '../src/methods/point-group.js';
import { teacherAtAnchors } from '../src/methods/teacher-points.js';
import { SpecificSampler } from '../src/samplers/specific.js';
import { changedSince, recordIterations, snapshot, testRegistry, tinyBatch, tinyModel, tinyRunner, tmp, writeTeacher } from './helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

/** A tiny DINO model section (2 levels: small-cnn's stride-4 map and one extra; denoising budget 4). */
function tinyDino(over: Record<string, unknown> = {}) {
  return tinyModel({ type: 'dino', numFeatureLevels: 2, numPoints: 2, groupNormGroups: 4, dnNumber: 4, ...over });
}

test.serial('KD-DETR DINO -> DINO runs end to end: kd terms per group and layer, teacher frozen in eval mode without denoising, per-image specific points, no leaks', async (t) => {
  const { registry, logger } = await testRegistry();
  const dir = tmp();
  const teacherSpec = await writeTeacher(registry, dir, tinyDino({ seed: 11, hiddenDim: 24, numQueries: 5 }));
  const student = await registry.build<QueryGroupDetector>('detector', tinyDino());
  const hook = await registry.build<KdDetrHook>('hook', { type: 'kd-detr', teacher: teacherSpec, samplers: [{ type: 'general', count: 7 }, { type: 'specific' }] });
  const runner = tinyRunner(registry, student, [hook as Hook], 4, dir);
  const { iters, tensors } = recordIterations(runner);
  const before = snapshot(student);
  const studentGroups: Array<Array<number[]>> = [];
  const decode = student.decode.bind(student);
  student.decode = (enc, groups: readonly QueryGroup[], opts) => {
    if (groups.length > 0) studentGroups.push(groups.map((g) => g.anchors.shape));
    return decode(enc, groups, opts);
  };
  let teacherTrainCalls = 0;
  const probe: Hook = {
    name: 'probe',
    priority: 99,
    beforeRun: () => {
      const teacher = hook.teacher as unknown as Dino;
      const forwardTrainSteps = teacher.forwardTrainSteps.bind(teacher);
      teacher.forwardTrainSteps = (...a) => (teacherTrainCalls++, forwardTrainSteps(...a));
    },
  };
  (runner as unknown as { hooks: { hooks: Hook[] } }).hooks.hooks.push(probe);
  await runner.train();
  const teacher = hook.teacher!;
  t.false(teacher.training, 'teacher in eval mode (no denoising queries)');
  t.is(teacher.trainableParameters().length, 0, 'teacher frozen');
  t.is(teacherTrainCalls, 0, "the teacher never runs its training forward (where denoising lives)");
  t.true(changedSince(student, before).length > 0, 'the student trained');
  const kd = Object.keys(iters[0]!).filter((k) => k.startsWith('kd-detr.')).sort();
  t.deepEqual(kd, ['general', 'specific'].flatMap((g) => ['cls', 'cls_0', 'giou', 'giou_0', 'l1', 'l1_0'].map((x) => `kd-detr.kd_${g}_${x}`)).sort());
  // The student's own DINO terms run beside the distillation: denoising and two-stage losses.
  for (const k of ['loss_ce_dn', 'loss_bbox_dn_0', 'loss_giou_interm', 'loss_ce']) t.true(k in iters[0]!, k);
  t.true(iters.every((l) => Object.values(l).every(Number.isFinite)));
  // General points shared by the batch; specific points: the teacher's 5 selected queries per image.
  t.deepEqual(studentGroups[0], [[7, 4], [2, 5, 4]]);
  t.is(tensors[3], tensors[2], `tensor counts ${tensors.join(',')}`);
  t.true(logger.lines.some((l) => /teacher 'dino' loaded (\d+)\/\1 tensors/.test(l)), logger.lines.join('\n'));
  hook.dispose();
  runner.dispose();
  student.dispose();
});

test.serial("specific content 'learned': at its own anchors a DINO teacher's targets are its detection outputs (to 1e-5), which zero content is not; DAB-DETR, without content, is unchanged", async (t) => {
  const { registry } = await testRegistry();
  const batch = tinyBatch(2, 16, 3);
  const finalOf = (o: { logits: tf.Tensor3D[]; boxes: tf.Tensor3D[] }) => [o.logits[o.logits.length - 1]!, o.boxes[o.boxes.length - 1]!];
  const maxDiff = (a: tf.Tensor[], b: tf.Tensor[]) => Math.max(...a.map((x, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(x, b[i]!))).dataSync()[0]!)));
  for (const [kind, model] of [['dino', tinyDino({ seed: 11, hiddenDim: 24, numQueries: 5 })], ['dab-detr', tinyModel({ seed: 11, hiddenDim: 24, numQueries: 5 })]] as const) {
    const teacher = await registry.build<QueryGroupDetector>('detector', model);
    teacher.eval();
    const before = tf.memory().numTensors;
    const [learned, zeros] = tf.tidy(() => {
      const encoded = teacher.encode(batch.images, batch.masks);
      const own = teacher.detectionQueries(encoded);
      const detection = finalOf(teacher.decode(encoded, [], { detection: true }).detection);
      const [l, z] = teacherAtAnchors(teacher, encoded, [own.anchors, own.anchors], ['learned', 'zeros']);
      return [maxDiff([l!.logits, l!.boxes], detection), maxDiff([z!.logits, z!.boxes], detection)];
    }) as unknown as [number, number];
    t.is(tf.memory().numTensors, before, `${kind}: no tensors left`);
    t.true(learned < 1e-5, `${kind}: learned content = detection outputs (max diff ${learned})`);
    if (kind === 'dino') t.true(zeros > 1e-3, `dino: zero content differs from its detections (max diff ${zeros})`);
    else t.is(zeros, learned, 'dab-detr has no content: both are the anchors alone');
    teacher.dispose();
  }
});

test.serial("specific content 'learned' with DINO on both sides: the student's content rows (tgt_embed) get a gradient from the distillation (none with zeros); five teacher points on four student rows", async (t) => {
  const { registry } = await testRegistry();
  const teacher = await registry.build<QueryGroupDetector>('detector', tinyDino({ seed: 11, hiddenDim: 24, numQueries: 5 }));
  teacher.eval();
  const batch = tinyBatch(2, 16, 4);
  const grads: Record<string, number> = {};
  for (const content of ['zeros', 'learned'] as const) {
    const student = await registry.build<QueryGroupDetector>('detector', tinyDino({ numQueries: 4 }));
    student.train();
    const method = new ConsistentPointsDistillation([new SpecificSampler({ content })], resolveKdLossOptions());
    const tgt = student.trainableParameters().find(([n]) => n === 'transformer.tgt_embed.weight')![1];
    const prepared = await method.prepare({ teacher, batch, iter: 0 });
    const before = tf.memory().numTensors;
    const { value, grads: g } = tf.variableGrads(() => {
      const { outputs } = student.forwardTrain(batch);
      // tgt * 0 ties the variable to the loss (tfjs refuses a loss that does not read it) and adds an exact 0 to its gradient.
      return tf.addN([...Object.values(method.losses({ student, outputs, prepared, batch })), tf.mul(tf.sum(tgt), 0)]) as tf.Scalar;
    }, [tgt]);
    grads[content] = tf.tidy(() => tf.sum(tf.abs(g[tgt.name]!)).dataSync()[0]!);
    tf.dispose([value, g[tgt.name]!]);
    t.is(tf.memory().numTensors, before, `${content}: no tensors left by the step`);
    prepared.dispose();
    student.dispose();
  }
  t.true(grads['learned']! > 0, `learned: |d KD / d tgt_embed| = ${grads['learned']}`);
  t.is(grads['zeros'], 0, 'zeros: the distillation queries do not read the content rows');
  teacher.dispose();
});

test.serial("'learned' content comes from DINO's detectionContent (no per-image selection); a model without it falls back to detectionQueries", async (t) => {
  const { registry } = await testRegistry();
  const dino = await registry.build<QueryGroupDetector>('detector', tinyDino());
  const dab = await registry.build<QueryGroupDetector>('detector', tinyModel());
  for (const [model, hasContent] of [[dino, true], [dab, false]] as const) {
    let selections = 0;
    const detectionQueries = model.detectionQueries.bind(model);
    model.detectionQueries = (enc) => (selections++, detectionQueries(enc));
    tf.tidy(() => {
      const batch = tinyBatch();
      const encoded = model.encode(batch.images, batch.masks);
      const content = contentOf(model, encoded);
      const first = content();
      t.is(content(), first, 'computed once');
      if (hasContent) {
        t.is(selections, 0, 'DINO: no query selection');
        t.is(first, (model as Dino).detectionContent(), 'its learned embedding');
      } else {
        t.is(selections, 1, 'without detectionContent: detectionQueries once');
        t.is(first, undefined, 'DAB-DETR has no content');
      }
    });
    model.dispose();
  }
});
