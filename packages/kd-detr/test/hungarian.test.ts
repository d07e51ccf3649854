import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { runStepsSync } from '@detkit/core';
import { HungarianMatcher } from '@detkit/detectors';
import { HungarianLogitsDistillation, matchToTeacher, resolveKdLossOptions, teacherTargets } from '../src/kd-detr.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

const rand = (seed: number) => {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) / 2147483647);
};

function permutations(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  const out: number[][] = [];
  for (const p of permutations(n, k - 1)) for (let i = 0; i < n; i++) if (!p.includes(i)) out.push([...p, i]);
  return out;
}

test('hungarian-logits pairs are a valid, optimal matching of student to teacher queries', (t) => {
  const [b, qs, qt, c] = [2, 5, 4, 3];
  const r = rand(42);
  const box = () => [0.2 + 0.6 * r(), 0.2 + 0.6 * r(), 0.1 + 0.3 * r(), 0.1 + 0.3 * r()];
  const sLogits = Array.from({ length: b * qs * c }, () => 6 * r() - 3);
  const sBoxes = Array.from({ length: b * qs }, box).flat();
  const tLogits = Float32Array.from({ length: b * qt * c }, () => 6 * r() - 3);
  const tBoxes = Float32Array.from(Array.from({ length: b * qt }, box).flat());
  for (const k of [qt, 2]) {
    const targets = teacherTargets(tLogits, tBoxes, [b, qt, c], k);
    const matcher = new HungarianMatcher();
    const student = { logits: tf.tensor3d(sLogits, [b, qs, c]), boxes: tf.tensor3d(sBoxes, [b, qs, 4]) };
    const match = matchToTeacher(matcher, student, targets);
    match.forEach((m, i) => {
      // Valid: every selected teacher query exactly once, distinct student queries.
      t.deepEqual([...m.teacherIdx].sort(), [...targets[i]!.teacherIdx].sort());
      t.is(new Set(m.studentIdx).size, m.studentIdx.length);
      t.true([...m.studentIdx].every((s) => s >= 0 && s < qs));
      // Selected teacher queries are the top-k by max logit.
      const score = (j: number) => Math.max(...Array.from(tLogits.subarray((i * qt + j) * c, (i * qt + j + 1) * c)));
      const chosen = [...targets[i]!.teacherIdx];
      const others = Array.from({ length: qt }, (_, j) => j).filter((j) => !chosen.includes(j));
      t.true(others.every((o) => chosen.every((ch) => score(ch) >= score(o))));
      // Optimal: brute force over every injective assignment of targets to student queries.
      const cost = matcher.costMatrix(sLogits.slice(i * qs * c, (i + 1) * qs * c), sBoxes.slice(i * qs * 4, (i + 1) * qs * 4), qs, c, targets[i]!, i);
      const n = targets[i]!.labels.length;
      const total = (assign: number[]) => assign.reduce((acc, s, tIdx) => acc + cost[s * n + tIdx]!, 0);
      const best = Math.min(...permutations(qs, n).map(total));
      const got = [...m.studentIdx].reduce((acc, s, kk) => acc + cost[s * n + targets[i]!.teacherIdx.indexOf(m.teacherIdx[kk]!)]!, 0);
      t.true(Math.abs(got - best) < 1e-9, `image ${i}: cost ${got} vs optimum ${best}`);
    });
  }
});

test('hungarian-logits: the \'batch\' KL normaliser divides by the number of images, not by 1', (t) => {
  const [b, q, c] = [2, 3, 3];
  const r = rand(7);
  const box = () => [0.3 + 0.4 * r(), 0.3 + 0.4 * r(), 0.1 + 0.2 * r(), 0.1 + 0.2 * r()];
  const teacher = { logits: tf.tensor3d(Array.from({ length: b * q * c }, () => 6 * r() - 3), [b, q, c]), boxes: tf.tensor3d(Array.from({ length: b * q }, box).flat(), [b, q, 4]) };
  const student = { logits: tf.tensor3d(Array.from({ length: b * q * c }, () => 6 * r() - 3), [b, q, c]), boxes: tf.tensor3d(Array.from({ length: b * q }, box).flat(), [b, q, 4]) };
  const cls = (klNormalizer: 'sum' | 'batch') => {
    const method = new HungarianLogitsDistillation(resolveKdLossOptions({ klNormalizer }));
    const prepared = { logits: teacher.logits, boxes: teacher.boxes, hostLogits: teacher.logits.dataSync() as Float32Array, hostBoxes: teacher.boxes.dataSync() as Float32Array, dispose: () => {} };
    const outputs = { detection: { logits: [student.logits], boxes: [student.boxes] } };
    const terms = runStepsSync(method.losses({ outputs, prepared } as never));
    return terms['kd_hungarian_cls']!.dataSync()[0]!;
  };
  const sum = cls('sum');
  t.true(sum > 1e-4);
  t.true(Math.abs(cls('batch') - sum / b) < 1e-6 * sum, `batch ${cls('batch')} vs sum/${b} ${sum / b}`);
});
