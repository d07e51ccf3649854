import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRun, exportWeights, loadDetector, readSafetensors, selectBackend, silentLogger } from '../src/index.js';
import { detkit, repo } from './cli-helpers.js';

const teacherConfig = join(repo, 'configs/dab-detr/mnist-teacher.ts');
const teacherWeights = join(repo, 'checkpoints/dab-detr-mnist-teacher.safetensors');
const tmp = () => mkdtempSync(join(tmpdir(), 'detkit-api-'));

test.before(async () => {
  await selectBackend({ backend: 'wasm', logger: silentLogger });
});

test.serial('createRun: one call gives a runner whose events$ show the iterations; train() writes the checkpoint', async (t) => {
  const workDir = tmp();
  const run = await createRun(join(repo, 'examples/plugin-template/detkit.config.ts'), {
    overrides: [`workDir=${workDir}`, 'train.maxIters=3', 'data.train.count=16', 'data.val.count=8', 'train.evalInterval=3', 'backend=wasm'],
    logger: silentLogger,
  });
  const seen: string[] = [];
  run.events$.subscribe((e) => (e.type === 'afterIter' || e.type === 'afterEval') && seen.push(`${e.type}@${e.iter}`));
  t.true(run.model.namedParameters().length > 0);
  const result = await run.train();
  t.is(result.iter, 3);
  t.deepEqual(seen, ['afterIter@1', 'afterIter@2', 'afterIter@3', 'afterEval@3']);
  // The defaults stayed although the template adds a hook (customHooks): a checkpoint exists.
  t.true(existsSync(join(workDir, 'latest.safetensors')));
  // The checkpoint records the latest evaluation, and an exported weights file keeps it.
  const recorded = JSON.parse((await readSafetensors(join(workDir, 'latest.safetensors'))).metadata!.detkit!) as { extra?: { metrics?: Record<string, number>; metricsIter?: number } };
  t.is(recorded.extra?.metricsIter, 3);
  t.is(typeof recorded.extra?.metrics?.AP, 'number');
  await exportWeights(join(workDir, 'latest.safetensors'), join(workDir, 'weights.safetensors'));
  const exported = (await readSafetensors(join(workDir, 'weights.safetensors'))).metadata!;
  t.deepEqual(JSON.parse(exported.metrics!), recorded.extra!.metrics);
  t.is(exported.metricsIter, '3');
  await run.close();
});

test.serial('loadDetector: boxes in pixels, class names and scores; a path, bytes and a tensor give the same', async (t) => {
  const data = join(tmp(), 'data');
  const made = await detkit(['data', 'make', 'mnist-detection', '--out', data, '--split', 'val', '--count', '2']);
  t.is(made.code, 0, made.stderr);
  const file = join(data, 'images/000001.png');
  const detector = await loadDetector(teacherConfig, teacherWeights, { overrides: ['backend=wasm'] });
  const gt = JSON.parse(readFileSync(join(data, 'instances.json'), 'utf8')) as { annotations: Array<{ image_id: number; bbox: number[]; category_id: number }> };
  const [fromPath] = await detector.predict(file, { scoreThreshold: 0.5 });
  // Boxes are in the image's pixels: each confident detection of the shipped teacher (AP 0.73)
  // lies on a ground-truth digit of its class (IoU > 0.7).
  const truth = gt.annotations.filter((a) => a.image_id === 1);
  t.true(fromPath!.length >= 1);
  for (const d of fromPath!) {
    const best = Math.max(...truth.filter((a) => String(a.category_id - 1) === d.className).map((a) => iou(d.box, a.bbox)));
    t.true(best > 0.7, `detection ${d.className} ${d.box} (score ${d.score}) vs ${JSON.stringify(truth)}`);
  }
  const bytes = readFileSync(file);
  const pixels = tf.tidy(() => tf.tensor3d(new Int32Array(bytesToRgb(bytes)), [64, 64, 3], 'int32'));
  const [fromBytes, fromTensor] = await detector.predict([bytes, pixels], { scoreThreshold: 0.5 });
  pixels.dispose();
  t.deepEqual(fromBytes, fromPath);
  t.deepEqual(fromTensor!.map((d) => d.label), fromPath!.map((d) => d.label));
  detector.dispose();
});

test.serial('loadDetector: a tensor of the wrong shape is a clear error', async (t) => {
  const detector = await loadDetector(teacherConfig, teacherWeights, { overrides: ['backend=wasm'] });
  const bad = tf.zeros([2, 64, 64, 3]) as unknown as tf.Tensor3D;
  const e = await t.throwsAsync(detector.predict(bad));
  t.regex(e!.message, /HWC tensor with 1 or 3 channels, got shape \[2, 64, 64, 3\]/);
  bad.dispose();
  detector.dispose();
});

test('detkit predict --images --json writes COCO results that detkit eval --gt accepts', async (t) => {
  const dir = join(tmp(), 'data');
  const made = await detkit(['data', 'make', 'mnist-detection', '--out', dir, '--split', 'val', '--count', '3']);
  t.is(made.code, 0, made.stderr);
  const images = ['000001.png', '000002.png', '000003.png'].map((f) => join(dir, 'images', f));
  const out = join(dir, 'out.json');
  const predicted = await detkit(['predict', teacherConfig, '--checkpoint', teacherWeights, '--images', ...images, '--json', out, '--backend', 'wasm']);
  t.is(predicted.code, 0, predicted.stderr);
  const results = JSON.parse(readFileSync(out, 'utf8')) as Array<{ image_id: number; category_id: number; bbox: number[]; score: number }>;
  t.deepEqual([...new Set(results.map((r) => r.image_id))].sort(), [1, 2, 3]);
  t.true(results.every((r) => r.category_id >= 1 && r.category_id <= 10 && r.bbox.length === 4));
  const scored = await detkit(['eval', '--gt', join(dir, 'instances.json'), '--results', out, '--json', join(dir, 'metrics.json')]);
  t.is(scored.code, 0, scored.stderr);
  const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { AP: number };
  t.true(metrics.AP > 0.4, `AP ${metrics.AP}`);
});

test('the README\'s events$ example is this file, under 10 lines, and runs', async (t) => {
  const example = readFileSync(join(repo, 'examples/api/train-with-events.ts'), 'utf8').trim();
  t.true(example.split('\n').length < 10);
  t.true(readFileSync(join(repo, 'README.md'), 'utf8').includes(example), 'README.md shows examples/api/train-with-events.ts verbatim');
  const workDir = tmp();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=source', 'examples/api/train-with-events.ts', `workDir=${workDir}`, 'train.maxIters=2', 'train.evalInterval=2', 'data.train.count=16', 'data.val.count=8', 'backend=wasm'], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, DETKIT_LOG_LEVEL: 'warn' },
  });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /iter 1: loss \d+\.\d{3}\niter 2: loss \d+\.\d{3}\nAP \d\.\d{3}/);
});

function iou(box: readonly number[], [x, y, w, h]: readonly number[]): number {
  const ix = Math.max(0, Math.min(box[2]!, x! + w!) - Math.max(box[0]!, x!));
  const iy = Math.max(0, Math.min(box[3]!, y! + h!) - Math.max(box[1]!, y!));
  const inter = ix * iy;
  return inter / ((box[2]! - box[0]!) * (box[3]! - box[1]!) + w! * h! - inter);
}

/** PNG bytes -> RGB 0..255 through the same decoder the datasets use. */
function bytesToRgb(png: Buffer): number[] {
  const r = spawnSync(process.execPath, ['-e', `require('sharp')(require('fs').readFileSync(0)).removeAlpha().toColourspace('srgb').raw().toBuffer().then(b => process.stdout.write(JSON.stringify([...b])))`], { input: png, encoding: 'utf8', cwd: join(repo, 'packages/datasets') });
  return JSON.parse(r.stdout) as number[];
}
