/** `detkit eval` on files, the results-file writer and the 'coco' Evaluator adapter. */
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Dataset, Evaluator, Sample } from '@detkit/core';
import {
  CocoEvaluator,
  COCO_STAT_KEYS,
  evalFilesCommand,
  evaluateCoco,
  formatStats,
  registerEvaluators,
  writeCocoResults,
  type CocoEvalDatasetExtras,
} from '../src/coco-eval/index.js';

const FIX = new URL('./fixtures/coco-eval/', import.meta.url);
const fixture = (name: string) => new URL(name, FIX).pathname;
/** pycocotools' precision is tp / (tp + fp + 2.2e-16): a perfect score is 1 - 1 ulp. */
const near = (t: import('ava').ExecutionContext, got: number | undefined, want: number) => t.true(Math.abs((got ?? NaN) - want) < 1e-12, `got ${got}, want ${want}`);
const tmp = () => mkdtempSync(path.join(tmpdir(), 'coco-eval-'));

test('evalFilesCommand prints exactly what pycocotools prints and writes the JSON stats', async (t) => {
  const dir = tmp();
  const lines: string[] = [];
  const out = path.join(dir, 'sub', 'stats.json');
  const report = await evalFilesCommand({ gt: fixture('cli-gt.json'), results: fixture('cli-results.json'), json: out, print: (l) => lines.push(l) });
  const expected = readFileSync(fixture('cli-expected-summary.txt'), 'utf8').trimEnd().split('\n');
  t.deepEqual(lines.filter((l) => !l.startsWith('note:')), expected);
  const written = JSON.parse(readFileSync(out, 'utf8'));
  t.deepEqual(Object.keys(written), [...COCO_STAT_KEYS]);
  t.deepEqual(written, report.stats);
  t.deepEqual(readdirSync(path.dirname(out)), ['stats.json'], 'no temp file left behind');
});

test('evalFilesCommand names the file and the JSON position of a syntax error', async (t) => {
  const dir = tmp();
  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, '[\n  {"image_id": 1, "category_id": 1,, "bbox": [0,0,1,1], "score": 1}\n]');
  const err = await t.throwsAsync(evalFilesCommand({ gt: fixture('cli-gt.json'), results: bad, print: () => {} }));
  t.is((err as { code?: string }).code, 'INVALID_ARGUMENT');
  // '[', '\n', then line 2 '  {"image_id": 1, "category_id": 1,' (35 chars, offsets 2..36):
  // the second comma is offset 37, line 2, column 36.
  t.regex(err!.message, /bad\.json is not valid JSON at position 37 \(line 2, column 36\)/);
  // V8 gives no position for "Unexpected token": core's scanner points at the start of the
  // invalid literal `tru` (offset 11, line 1, column 12).
  const bad2 = path.join(dir, 'bad2.json');
  writeFileSync(bad2, '{"images": tru}');
  const err2 = await t.throwsAsync(evalFilesCommand({ gt: bad2, results: fixture('cli-results.json'), print: () => {} }));
  t.regex(err2!.message, /ground truth file .*bad2\.json is not valid JSON at position 11 \(line 1, column 12\)/);
});

test('evalFilesCommand rejects missing files and wrong shapes with the file name', async (t) => {
  const dir = tmp();
  const missing = path.join(dir, 'nope.json');
  const e1 = await t.throwsAsync(evalFilesCommand({ gt: missing, results: fixture('cli-results.json'), print: () => {} }));
  t.is((e1 as { code?: string }).code, 'IO');
  t.true(e1!.message.includes(missing));
  const obj = path.join(dir, 'obj.json');
  writeFileSync(obj, '{"annotations": []}');
  const e2 = await t.throwsAsync(evalFilesCommand({ gt: fixture('cli-gt.json'), results: obj, print: () => {} }));
  t.regex(e2!.message, /obj\.json must hold a JSON array/);
  const e3 = await t.throwsAsync(evalFilesCommand({ gt: obj, results: fixture('cli-results.json'), print: () => {} }));
  t.regex(e3!.message, /obj\.json must hold an object with arrays "images", "annotations" and "categories"/);
  const unknownImage = path.join(dir, 'unknown-image.json');
  writeFileSync(unknownImage, JSON.stringify([{ image_id: 123456, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }]));
  const e4 = await t.throwsAsync(evalFilesCommand({ gt: fixture('cli-gt.json'), results: unknownImage, print: () => {} }));
  t.regex(e4!.message, /unknown-image\.json.*results\[0\]: image_id 123456 is not an image of the ground truth/);
});

/** A tiny in-memory dataset: two images, classes 'cat' and 'dog' mapped to COCO ids 17 and 18. */
function fakeDataset(withCategoryIds: boolean): Dataset & CocoEvalDatasetExtras {
  const sample = (imageId: number, boxes: number[], labels: number[], iscrowd?: number[]): Sample => ({
    image: new Float32Array(4 * 4 * 3), height: 4, width: 4, channels: 3,
    boxes: Float32Array.from(boxes), labels: Int32Array.from(labels), iscrowd: iscrowd && Uint8Array.from(iscrowd), imageId,
  });
  const samples = [
    sample(10, [0, 0, 20, 20, 50, 50, 150, 150], [0, 1]),
    sample(11, [0, 0, 40, 40, 100, 100, 300, 300], [1, 1], [0, 1]),
  ];
  return { length: 2, classNames: ['cat', 'dog'], get: (i) => samples[i], ...(withCategoryIds ? { categoryIds: [17, 18] } : {}) };
}

test('the coco Evaluator scores detections against a Dataset (xyxy -> xywh, crowds, category map)', async (t) => {
  const ds = fakeDataset(true);
  const ev = new CocoEvaluator();
  // Perfect on every regular box, plus a detection inside the crowd region (ignored).
  const perfect = [
    { imageId: 10, box: [0, 0, 20, 20] as [number, number, number, number], label: 0, score: 0.9 },
    { imageId: 10, box: [50, 50, 150, 150] as [number, number, number, number], label: 1, score: 0.8 },
    { imageId: 11, box: [0, 0, 40, 40] as [number, number, number, number], label: 1, score: 0.7 },
    { imageId: 11, box: [120, 120, 160, 160] as [number, number, number, number], label: 1, score: 0.95 },
  ];
  const m = await ev.evaluate(perfect, ds);
  // GT: cat 20x20 (small); dog 100x100 (large), 40x40 (medium), crowd 200x200.
  near(t, m.AP, 1);
  near(t, m.APs, 1);
  near(t, m.APm, 1);
  near(t, m.APl, 1);
  near(t, m['AP/cat'], 1);
  near(t, m['AP/dog'], 1);
  // dog: 2 regular GT, the crowd det (.95) is ranked first in image 11 -> cut at maxDets=1, so
  // AR1(dog) = 1/2 (image 10's dog found, image 11's not); AR1(cat) = 1 -> mean 0.75.
  t.is(m.AR1, 0.75);

  // Without the dataset's category map, labels map to label+1 and the result is the same.
  const m2 = await ev.evaluate(perfect, fakeDataset(false));
  t.deepEqual(m2, m);

  // A miss: drop the cat -> AP/cat 0 (category with GT, no detections) -> AP = mean(0, 1) = 0.5.
  const m3 = await ev.evaluate(perfect.slice(1), ds);
  t.is(m3['AP/cat'], 0);
  near(t, m3.AP, 0.5);
});

test('registerEvaluators registers "coco" under the evaluator kind, validating params', async (t) => {
  const registered: { kind: string; name: string; factory: (p: Record<string, unknown>, c: never) => unknown }[] = [];
  registerEvaluators({ register: (kind, name, factory) => registered.push({ kind, name, factory: factory as never }), services: {} as never });
  t.deepEqual(registered.map((r) => [r.kind, r.name]), [['evaluator', 'coco']]);
  const ev = registered[0].factory({ perClass: false }, undefined as never) as Evaluator;
  const m = await ev.evaluate([], fakeDataset(true));
  t.false('AP/cat' in m);
  t.is(m.AP, 0);
  t.throws(() => registered[0].factory({ perClass: 'yes' }, undefined as never), { message: /perClass must be a boolean/ });
});

test('writeCocoResults writes a results file evaluateCoco reads back (atomic, xywh, category map)', async (t) => {
  const dir = tmp();
  const file = path.join(dir, 'dets.json');
  await writeCocoResults(file, [{ imageId: 3, box: [10, 20, 40, 60], label: 1, score: 0.25 }], [7, 9]);
  const back = JSON.parse(readFileSync(file, 'utf8'));
  t.deepEqual(back, [{ image_id: 3, category_id: 9, bbox: [10, 20, 30, 40], score: 0.25 }]);
  t.deepEqual(readdirSync(dir), ['dets.json']);
  const r = evaluateCoco({ images: [{ id: 3 }], categories: [{ id: 9 }], annotations: [{ id: 1, image_id: 3, category_id: 9, bbox: [10, 20, 30, 40] }] }, back);
  near(t, r.stats.AP, 1);
  await t.throwsAsync(writeCocoResults(file, [{ imageId: 3, box: [0, 0, 1, 1], label: 5, score: 1 }], [7, 9]), { message: /label 5 has no category id/ });
});

test('formatStats rounds like Python (exact ties half-to-even), not like toFixed', (t) => {
  // python3 -c "print('{:0.3f}'.format(0.0625), '{:0.3f}'.format(0.1875), '{:0.3f}'.format(-1))" -> 0.062 0.188 -1.000
  const stats = Object.fromEntries(COCO_STAT_KEYS.map((k) => [k, -1])) as Record<(typeof COCO_STAT_KEYS)[number], number>;
  stats.AP = 0.0625;
  stats.AP50 = 0.1875;
  const lines = formatStats(stats);
  t.true(lines[0].endsWith('] = 0.062'), lines[0]);
  t.true(lines[1].endsWith('] = 0.188'), lines[1]);
  t.true(lines[2].endsWith('] = -1.000'), lines[2]);
});

test('evaluateCoco refuses non-finite scores and negative box sizes, showing the value as it is (not null)', (t) => {
  const gt = { images: [{ id: 3 }], categories: [{ id: 9 }], annotations: [{ id: 1, image_id: 3, category_id: 9, bbox: [10, 20, 30, 40] }] };
  const det = { image_id: 3, category_id: 9, bbox: [10, 20, 30, 40], score: 0.5 };
  t.throws(() => evaluateCoco(gt, [{ ...det, score: Infinity }]), { message: /results\[0\]\.score must be a finite number, got Infinity/ });
  t.throws(() => evaluateCoco(gt, [{ ...det, score: NaN }]), { message: /got NaN/ });
  t.throws(() => evaluateCoco(gt, [{ ...det, bbox: [10, 20, -1, 40] }]), { message: /results\[0\]: bbox \[10,20,-1,40\] has a negative width or height/ });
  t.throws(() => evaluateCoco(gt, [{ ...det, bbox: [13, 12, Infinity, 17] }]), { message: /got \[13,12,Infinity,17\]/ });
  t.notThrows(() => evaluateCoco(gt, [{ ...det, bbox: [10, 20, 0, 40] }]), 'an empty box is scored, as pycocotools does');
});

test('evalFilesCommand validates the ground truth with the dataset validator before reading results', async (t) => {
  const dir = tmp();
  const gt = path.join(dir, 'gt.json');
  writeFileSync(gt, JSON.stringify({ images: [{ id: 1 }, { id: 1 }], categories: [{ id: 9 }], annotations: [] }));
  const res = path.join(dir, 'res.json');
  writeFileSync(res, JSON.stringify([{ image_id: 1, category_id: 9, bbox: [0, 0, 1, 1], score: 1 }]));
  const e = await t.throwsAsync(evalFilesCommand({ gt, results: res, print: () => {} }));
  t.is((e as { code?: string }).code, 'DATASET_INVALID');
  t.regex(e!.message, /gt\.json: images\[1\] \(id 1\): duplicate image id 1/);
});
