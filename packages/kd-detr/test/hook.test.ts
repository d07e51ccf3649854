import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { isDetkitError, Runner, type Hook } from '@detkit/core';
import type { QueryGroup, QueryGroupDetector } from '@detkit/detectors';
import { KdDetrHook } from '../src/kd-detr.js';
import { changedSince, recordIterations, snapshot, testRegistry, tinyModel, tinyRunner, tinyRunnerOptions, tmp, writeTeacher } from './helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

/** Registry, student, teacher checkpoint and the hook built from a `distill` section. */
async function setup(distill: Record<string, unknown> = {}, studentOver: Record<string, unknown> = {}) {
  const { registry, logger } = await testRegistry();
  const dir = tmp();
  const teacher = await writeTeacher(registry, dir);
  const student = await registry.build<QueryGroupDetector>('detector', tinyModel(studentOver));
  const hook = await registry.build<KdDetrHook>('hook', { type: 'kd-detr', teacher, samplers: [{ type: 'general', count: 7 }, { type: 'specific' }], ...distill });
  return { registry, logger, dir, student, hook, teacher };
}

/** Records the anchors of every decode call of a model. */
function spyDecode(m: QueryGroupDetector): number[][][][] {
  const calls: number[][][][] = [];
  const orig = m.decode.bind(m);
  m.decode = (enc, groups: readonly QueryGroup[], opts) => {
    calls.push(groups.map((g) => g.anchors.arraySync() as number[][]));
    return orig(enc, groups, opts);
  };
  return calls;
}

test.serial('20 distillation iterations: teacher weights bit-identical, student changed and saved alone, loss terms per group and layer, no leaks', async (t) => {
  const { registry, logger, dir, student, hook } = await setup();
  const runner = tinyRunner(registry, student, [hook as Hook], 20, dir);
  const { iters, tensors } = recordIterations(runner);
  const studentBefore = snapshot(student);
  // The teacher is built in beforeRun: snapshot it right after.
  let teacherBefore: Map<string, Float32Array> | undefined;
  const probe: Hook = { name: 'probe', priority: 99, beforeRun: () => void (teacherBefore = snapshot(hook.teacher!)) };
  (runner as unknown as { hooks: { hooks: Hook[] } }).hooks.hooks.push(probe);
  await runner.train();
  const teacher = hook.teacher!;
  t.false(teacher.training, 'teacher in eval mode');
  t.is(teacher.trainableParameters().length, 0, 'teacher frozen');
  for (const [k, v] of snapshot(teacher)) t.deepEqual(v, teacherBefore!.get(k), `teacher ${k} changed`);
  t.true(changedSince(student, studentBefore).length > 0, 'the student trained');
  const names = Object.keys(iters[0]!).filter((k) => k.startsWith('kd-detr.')).sort();
  t.deepEqual(names, ['general', 'specific'].flatMap((g) => ['cls', 'cls_0', 'giou', 'giou_0', 'l1', 'l1_0'].map((x) => `kd-detr.kd_${g}_${x}`)).sort());
  t.true(iters.every((l) => Object.values(l).every(Number.isFinite)));
  // Flat tensor count after the first iterations (optimizer slots exist from step 1).
  t.is(tensors[19], tensors[2], `tensor counts ${tensors.join(',')}`);
  t.true(existsSync(join(dir, 'student.safetensors')));
  t.true(logger.lines.some((l) => /teacher 'dab-detr' loaded (\d+)\/\1 tensors/.test(l)), logger.lines.join('\n'));
  hook.dispose();
  runner.dispose();
  student.dispose();
});

test.serial('general points differ between iterations and are the same for teacher and student within one; specific points are the teacher anchors', async (t) => {
  const { registry, student, hook } = await setup();
  const studentCalls = spyDecode(student);
  const runner = tinyRunner(registry, student, [hook as Hook], 3);
  let teacherCalls: number[][][][] = [];
  const encodeTaped: boolean[] = [];
  const probe: Hook = {
    name: 'probe',
    priority: 99,
    beforeRun: () => {
      const teacher = hook.teacher!;
      teacherCalls = spyDecode(teacher);
      const encode = teacher.encode.bind(teacher);
      // Is a gradient tape recording while the teacher runs? (tfjs keeps it in engine state.)
      teacher.encode = (i, m) => (encodeTaped.push((tf.engine().state as unknown as { activeTape: unknown }).activeTape != null), encode(i, m));
    },
  };
  (runner as unknown as { hooks: { hooks: Hook[] } }).hooks.hooks.push(probe);
  await runner.train();
  t.is(teacherCalls.length, 3, 'one teacher decode per iteration (all groups in one pass)');
  t.deepEqual(encodeTaped, [false, false, false], 'the teacher encodes once per iteration, never on the tape');
  // Student: forwardTrain's own decode (no groups) then the hook's decode (2 groups), per iteration.
  const studentGroupCalls = studentCalls.filter((c) => c.length > 0);
  t.is(studentGroupCalls.length, 3);
  const anchors = hook.teacher!.detectionQueries().anchors.arraySync();
  for (let i = 0; i < 3; i++) {
    const [tg, ts] = teacherCalls[i]!;
    const [sg, ss] = studentGroupCalls[i]!;
    t.is(tg!.length, 7);
    t.deepEqual(sg, tg, `iteration ${i}: general points differ between teacher and student`);
    t.deepEqual(ts, anchors);
    t.deepEqual(ss, anchors);
  }
  t.notDeepEqual(teacherCalls[0]![0], teacherCalls[1]![0]);
  t.notDeepEqual(teacherCalls[1]![0], teacherCalls[2]![0]);
  hook.dispose();
  runner.dispose();
});

test.serial('a teacher that disagrees on classes fails at start with a clear error', async (t) => {
  const { registry, student, hook } = await setup({}, { numClasses: 4 });
  const runner = tinyRunner(registry, student, [hook as Hook], 2);
  await t.throwsAsync(runner.train(), { message: /teacher and student disagree \(numClasses: teacher 3, student 4\)/ });
  const named = await setup({}, { classNames: ['a', 'b', 'c'] });
  const r2 = tinyRunner(named.registry, named.student, [named.hook as Hook], 2);
  await t.throwsAsync(r2.train(), { message: /classNames differ at index 0: teacher "0", student "a"/ });
});

test.serial('a sampler producing zero points, a missing checkpoint or a typo fail loudly', async (t) => {
  const { registry, student, hook } = await setup({ samplers: [{ type: 'specific' }] });
  // A teacher without anchors: the specific group has no points.
  const runner = tinyRunner(registry, student, [hook as Hook], 2);
  const probe: Hook = {
    name: 'probe',
    priority: 99,
    beforeRun: () => {
      hook.teacher!.detectionQueries = () => ({ anchors: tf.zeros([0, 4]) as tf.Tensor2D });
    },
  };
  (runner as unknown as { hooks: { hooks: Hook[] } }).hooks.hooks.push(probe);
  await t.throwsAsync(runner.train(), { message: /sampler 'specific' produced anchors of shape \[0,4\]/ });
  const teacher = { model: tinyModel(), checkpoint: '/nonexistent/teacher.safetensors' };
  const h2 = await registry.build<KdDetrHook>('hook', { type: 'kd-detr', teacher });
  await t.throwsAsync(tinyRunner(registry, student, [h2 as Hook], 1).train(), { message: /teacher checkpoint .* does not exist/ });
  await t.throwsAsync(registry.build('hook', { type: 'kd-detr', teacher, foregroundWeigthing: false }), { message: /unknown parameter 'foregroundWeigthing'/ });
  await t.throwsAsync(registry.build('hook', { type: 'kd-detr' }), { message: /distill.teacher is required/ });
  await t.throwsAsync(registry.build('hook', { type: 'kd-detr', teacher, method: 'dkd' }), { message: /Unknown distill-method 'dkd'/ });
});

test.serial('distillation-only training moves the student toward the teacher (the KD loss falls)', async (t) => {
  const { student, hook } = await setup({ samplers: [{ type: 'general', count: 16 }, { type: 'specific' }] });
  const { tinyBatch } = await import('./helpers.js');
  await hook.beforeRun!({ model: student } as never);
  const params = student.trainableParameters().map(([, v]) => v);
  const opt = tf.train.adam(3e-3);
  const batch = tinyBatch(2, 16, 1);
  const kdLoss = (iter: number) => {
    const state = { model: student, iter } as never;
    return tf.tidy(() => {
      const forward = student.forwardTrain(batch);
      return tf.addN(Object.values(hook.afterForward!(state, batch, forward) as Record<string, tf.Scalar>)) as tf.Scalar;
    });
  };
  const losses: number[] = [];
  for (let i = 0; i < 12; i++) {
    await hook.beforeIter!({ model: student, iter: 0 } as never, batch);
    const { value, grads } = tf.variableGrads(() => kdLoss(0), params);
    losses.push(value.dataSync()[0]!);
    opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    tf.dispose([value, ...Object.values(grads)]);
    hook.release();
  }
  t.true(losses[11]! < 0.7 * losses[0]!, `KD loss ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  hook.dispose();
});

test.serial('method none: no teacher, no terms (a plain run), the student still saved', async (t) => {
  const { registry } = await testRegistry();
  const student = await registry.build<QueryGroupDetector>('detector', tinyModel());
  const hook = await registry.build<KdDetrHook>('hook', { type: 'kd-detr', method: 'none' });
  const dir = tmp();
  const runner = tinyRunner(registry, student, [hook as Hook], 2, dir);
  const names: string[] = [];
  runner.events$.subscribe((e) => e.type === 'afterIter' && names.push(...Object.keys(e.losses)));
  await runner.train();
  t.false(names.some((n) => n.startsWith('kd-detr.')));
  t.is(hook.teacher, undefined);
  t.true(existsSync(join(dir, 'student.safetensors')));
});

test.serial('hungarian-logits baseline: runs through the hook with per-layer terms', async (t) => {
  const { registry, student, hook } = await setup({ method: 'hungarian-logits', samplers: undefined });
  const runner = tinyRunner(registry, student, [hook as Hook], 2);
  const names: string[] = [];
  runner.events$.subscribe((e) => e.type === 'afterIter' && names.push(...Object.keys(e.losses).filter((n) => n.startsWith('kd-detr.'))));
  await runner.train();
  t.deepEqual([...new Set(names)].sort(), ['cls', 'cls_0', 'giou', 'giou_0', 'l1', 'l1_0'].map((x) => `kd-detr.kd_hungarian_${x}`).sort());
  hook.dispose();
});

test.serial('gt-matched-logits baseline (the reference\'s): runs through the hook, per-layer terms, no leaks', async (t) => {
  const { registry, student, hook } = await setup({ method: 'gt-matched-logits', samplers: undefined });
  const runner = tinyRunner(registry, student, [hook as Hook], 4);
  const names: string[] = [];
  const tensors: number[] = [];
  runner.events$.subscribe((e) => {
    if (e.type !== 'afterIter') return;
    names.push(...Object.keys(e.losses).filter((n) => n.startsWith('kd-detr.')));
    tensors.push(tf.memory().numTensors);
  });
  await runner.train();
  t.deepEqual([...new Set(names)].sort(), ['bbox', 'bbox_0', 'cls', 'cls_0'].map((x) => `kd-detr.kd_gtmatch_${x}`).sort());
  t.is(tensors[3], tensors[1], `tensor counts ${tensors.join(',')}`);
  hook.dispose();
});

test.serial('distill.until: the first N iterations distil, then the student trains alone (no teacher forward); a branch at N equals the straight run', async (t) => {
  const { registry, student, hook, dir } = await setup({ until: 3 });
  const prepares: number[] = [];
  const prepare = hook.method.prepare.bind(hook.method);
  hook.method.prepare = (args) => (prepares.push(args.iter), prepare(args));
  const runner = tinyRunner(registry, student, [hook as Hook], 5, dir);
  const { iters, tensors } = recordIterations(runner);
  await runner.train();
  const kdTerms = iters.map((l) => Object.keys(l).filter((k) => k.startsWith('kd-detr.')).length);
  t.deepEqual(kdTerms.map((n) => n > 0), [true, true, true, false, false]);
  t.deepEqual(prepares, [0, 1, 2], 'the teacher runs for the distilled steps only');
  t.is(tensors[4], tensors[3], 'nothing kept from the teacher once distillation stops');
  const straight = snapshot(student);
  hook.dispose();
  runner.dispose();
  student.dispose();

  // Distil throughout for 3 iterations, checkpoint, then resume with until: 3 for 2 more.
  const first = await setup();
  const firstRunner = tinyRunner(first.registry, first.student, [first.hook as Hook], 3, first.dir);
  await firstRunner.train();
  const ck = await firstRunner.saveCheckpoint('at3.safetensors');
  first.hook.dispose();
  firstRunner.dispose();
  first.student.dispose();
  const branch = await setup({ until: 3 });
  const branchRunner = new Runner({ ...tinyRunnerOptions(branch.registry, branch.student, [branch.hook as Hook], 5, branch.dir), resumeFrom: ck });
  await branchRunner.train();
  t.is(branch.hook.teacher, undefined, 'resumed past until: the teacher is never loaded');
  t.deepEqual(snapshot(branch.student), straight);
  branch.hook.dispose();
  branchRunner.dispose();
  branch.student.dispose();
});

test.serial('distill.until must be a whole number of iterations >= 1', async (t) => {
  const { registry } = await testRegistry();
  const teacher = await writeTeacher(registry, tmp());
  for (const until of [0, 2.5, -1]) {
    const e = await t.throwsAsync(registry.build('hook', { type: 'kd-detr', teacher, until }));
    t.true(isDetkitError(e, 'CONFIG_INVALID'), String(e));
    t.regex(e!.message, /distill\.until .*got -?[\d.]+/);
  }
});
