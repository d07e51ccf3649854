// KD-DETR with DINO on both sides: the student's distillation groups are decoded beside its own
// denoising queries, the teacher (eval mode, no denoising) decodes the same points through the
// query-group contract; its specific points are its per-image query selection.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { type Hook } from '@detkit/core';
import type { Dino, QueryGroup, QueryGroupDetector } from '@detkit/detectors';
import { KdDetrHook } from '../src/kd-detr.js';
import { changedSince, recordIterations, snapshot, testRegistry, tinyModel, tinyRunner, tmp, writeTeacher } from './helpers.js';

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
