// KD-DETR on the webgpu backend: runs where an adapter exists (SwiftShader here and in CI),
// otherwise skipped with the reason printed.
import test from 'ava';
import { join } from 'node:path';
import { probeBackend, Runner, selectBackend, silentLogger, type Hook } from '@detkit/core';
import type { QueryGroupDetector } from '@detkit/detectors';
import { testRegistry, tinyModel, tinySource, tmp, writeTeacher } from './helpers.js';

const probe = await probeBackend('webgpu');

if (!probe.ok) {
  console.log(`webgpu tests skipped: ${probe.why}`);
  test.skip(`KD-DETR on webgpu (skipped: ${probe.why.slice(0, 160)})`, () => {});
} else {
  for (const method of ['kd-detr', 'hungarian-logits'] as const) {
    test.serial(`one ${method} step on webgpu, its checkpoint written and resumed there (${probe.reason.split(';')[0]})`, async (t) => {
      await selectBackend({ backend: 'webgpu', logger: silentLogger });
      const { registry } = await testRegistry();
      const dir = tmp();
      const teacher = await writeTeacher(registry, dir);
      const samplers = method === 'kd-detr' ? { samplers: [{ type: 'general', count: 7 }, { type: 'specific' }] } : {};
      const distill = { type: 'kd-detr', method, teacher, ...samplers };
      const run = async (maxIters: number, resumeFrom?: string) => {
        const student = await registry.build<QueryGroupDetector>('detector', tinyModel());
        const hook = await registry.build<Hook>('hook', distill);
        const runner = new Runner({
          model: student, train: tinySource(), hooks: [hook], maxIters, resumeFrom, clipGradNorm: 0.1, workDir: dir,
          optimizer: { type: 'adamw', lr: 1e-3, weightDecay: 1e-4 }, services: registry.services, handleSignals: false,
        });
        const losses: Array<Record<string, number>> = [];
        runner.events$.subscribe((e) => void (e.type === 'afterIter' && losses.push(e.losses)));
        const result = await runner.train();
        const path = await runner.saveCheckpoint('latest.safetensors');
        runner.dispose();
        student.dispose();
        return { result, losses, path };
      };
      const first = await run(1);
      t.is(first.result.iter, 1);
      const kd = Object.entries(first.losses[0]!).filter(([k]) => k.startsWith('kd-detr.'));
      t.true(kd.length > 0, 'distillation terms computed');
      t.true(Object.values(first.losses[0]!).every(Number.isFinite), JSON.stringify(first.losses[0]));
      t.true(kd.some(([, v]) => v > 0), 'distillation terms are not all zero');
      const resumed = await run(2, join(dir, 'latest.safetensors'));
      t.is(resumed.result.iter, 2);
      t.is(resumed.losses.length, 1, 'resumed after the first iteration');
    });
  }
}
