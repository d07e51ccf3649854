// Cost of KD-DETR per student training iteration: the same student step with and without the
// distillation hook (teacher encode + one decode of all groups before the tape, the student's
// extra decode of the groups and the loss inside it). Small models on random 64x64 batches.
//   npm run bench -- kd-overhead        (or: node --conditions=source --import tsx bench/kd-overhead.ts)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { createRegistry, createServices, Runner, saveModelOnly, selectBackend, silentLogger, type Batch, type BatchSource, type Hook, type TypedConfig } from '@detkit/core';
import { registerDetectors, type QueryGroupDetector } from '@detkit/detectors';
import { plugin } from '../packages/kd-detr/src/plugin.js';

const B = 4;
const S = 64;
const ITERS = 6;

const model = (over: Record<string, unknown>): TypedConfig => ({
  type: 'dab-detr', numClasses: 10,
  backbone: { type: 'resnet', depth: 18, baseWidth: 8, blocks: [1, 1, 1] },
  hiddenDim: 64, numHeads: 4, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 128, numQueries: 50, seed: 1, ...over,
});

function source(): BatchSource {
  return {
    length: 1000,
    batches: () => (async function* () {
      for (let i = 0; ; i++) {
        const batch: Batch = {
          images: tf.randomUniform([B, S, S, 3], 0, 1, 'float32', i) as tf.Tensor4D,
          masks: tf.ones([B, S, S]) as tf.Tensor3D,
          targets: Array.from({ length: B }, (_, k) => ({
            boxes: Float32Array.from([0.3, 0.3, 0.2, 0.25, 0.7, 0.6, 0.3, 0.3]), labels: Int32Array.from([k % 10, (k + 3) % 10]),
            imageId: k, height: S, width: S, origHeight: S, origWidth: S,
          })),
        };
        yield batch;
      }
    })(),
  };
}

async function msPerIter(distill: Record<string, unknown> | undefined): Promise<number> {
  const reg = createRegistry(createServices({ logger: silentLogger, seed: 1 }).services);
  registerDetectors(reg.pluginContext('@detkit/detectors'));
  await plugin.register(reg.pluginContext(plugin.name));
  const student = await reg.build<QueryGroupDetector>('detector', model({}));
  const hooks: Hook[] = [];
  let hook: (Hook & { dispose?: () => void }) | undefined;
  if (distill) {
    const teacherCfg = model({ hiddenDim: 128, numEncoderLayers: 3, numDecoderLayers: 3, seed: 2 });
    const t = await reg.build<QueryGroupDetector>('detector', teacherCfg);
    const checkpoint = join(mkdtempSync(join(tmpdir(), 'kd-bench-')), 'teacher.safetensors');
    await saveModelOnly(checkpoint, t);
    t.dispose();
    hook = await reg.build<Hook>('hook', { type: 'kd-detr', teacher: { model: teacherCfg, checkpoint }, saveStudent: false, ...distill });
    hooks.push(hook);
  }
  const times: number[] = [];
  const runner = new Runner({
    model: student, train: source(), hooks, optimizer: { type: 'adamw', lr: 1e-4, weightDecay: 1e-4 }, maxIters: ITERS,
    workDir: mkdtempSync(join(tmpdir(), 'kd-bench-run-')), services: reg.services, handleSignals: false,
  });
  let t0 = 0;
  runner.events$.subscribe((e) => {
    if (e.type === 'beforeIter') t0 = performance.now();
    if (e.type === 'afterIter') times.push(performance.now() - t0);
  });
  await runner.train();
  runner.dispose();
  hook?.dispose?.();
  student.dispose();
  const steady = times.slice(1).sort((a, b) => a - b);
  return steady[Math.floor(steady.length / 2)]!;
}

export const section = {
  name: 'kd-overhead',
  async run(): Promise<void> {
    const backend = await selectBackend({ logger: silentLogger });
    console.log(`student d=64 2+2 layers 50 queries, teacher d=128 3+3 layers; batch ${B}x${S}x${S}; backend ${backend.name}; median of ${ITERS - 1} iterations (teacher forward included)`);
    const rows: Array<[string, Record<string, unknown> | undefined]> = [
      ['student alone', undefined],
      ['+ KD-DETR general 300 + specific 50', { samplers: [{ type: 'general', count: 300 }, { type: 'specific' }] }],
      ['+ KD-DETR specific only', { samplers: [{ type: 'specific' }] }],
      ['+ hungarian-logits', { method: 'hungarian-logits' }],
    ];
    let base = 0;
    for (const [name, distill] of rows) {
      const ms = await msPerIter(distill);
      if (!distill) base = ms;
      console.log(`${name.padEnd(40)} ${ms.toFixed(0).padStart(6)} ms/iter${distill ? `  (x${(ms / base).toFixed(2)})` : ''}`);
    }
  },
};

if (import.meta.url === `file://${process.argv[1]}`) await section.run();
