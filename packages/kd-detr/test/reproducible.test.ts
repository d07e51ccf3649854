import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmKernels, type Hook } from '@detkit/core';
import type { QueryGroupDetector } from '@detkit/detectors';
import type { KdDetrHook } from '../src/kd-detr.js';
import { testRegistry, tinyModel, tinyRunner, tmp, writeTeacher } from './helpers.js';

/** Every iteration's loss terms of a short distilled run, from a fresh registry with `seed`. */
async function distilledLosses(seed: number, iters: number): Promise<Array<Record<string, number>>> {
  const { registry } = await testRegistry(seed);
  const dir = tmp();
  const teacher = await writeTeacher(registry, dir);
  const student = await registry.build<QueryGroupDetector>('detector', tinyModel());
  const hook = await registry.build<KdDetrHook>('hook', { type: 'kd-detr', teacher, samplers: [{ type: 'general', count: 9 }, { type: 'specific' }] });
  const runner = tinyRunner(registry, student, [hook as Hook], iters, dir);
  const losses: Array<Record<string, number>> = [];
  runner.events$.subscribe((e) => e.type === 'afterIter' && losses.push(e.losses));
  await runner.train();
  hook.dispose();
  runner.dispose();
  student.dispose();
  return losses;
}

// Same seed, same run: every loss term equal to the last bit, on the pure-JS reference and on
// wasm with detkit's kernels (what training uses), so a non-deterministic kernel or an
// unseeded random draw in the distillation path fails here.
for (const backend of ['cpu', 'wasm'] as const) {
  test.serial(`${backend}: two distilled runs with one seed give bit-identical losses; another seed differs`, async (t) => {
    await tf.setBackend(backend);
    if (backend === 'wasm') installWasmKernels();
    const a = await distilledLosses(5, 6);
    const b = await distilledLosses(5, 6);
    t.is(a.length, 6);
    t.deepEqual(a, b);
    t.true(Object.keys(a[0]!).some((k) => k.startsWith('kd-detr.kd_general_')));
    const other = await distilledLosses(6, 6);
    t.notDeepEqual(a, other);
  });
}
