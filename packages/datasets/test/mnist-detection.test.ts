import test from 'ava';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CocoDataset } from '../src/coco/coco-dataset.js';
import { DetkitError } from '../src/core.js';
import type { Sample } from '../src/core.js';
import { dataMakeCommand } from '../src/export/data-make.js';
import { exportCoco } from '../src/export/export-coco.js';
import { loadMnistSplit } from '../src/mnist/idx.js';
import { MnistDetection } from '../src/mnist/mnist-detection.js';

function hashAll(ds: MnistDetection, n: number): string {
  const h = createHash('sha256');
  for (let i = 0; i < n; i++) {
    const s = ds.get(i);
    h.update(new Uint8Array(s.image.buffer));
    h.update(new Uint8Array(s.boxes.buffer));
    h.update(new Uint8Array(s.labels.buffer));
  }
  return h.digest('hex');
}

/** Channel 0 of pixel (x, y): the canvas is grey, so that is the whole story. */
const px = (s: Sample, x: number, y: number): number => s.image[3 * (y * s.width + x)]!;

test('same seed -> byte-identical data; other seed -> different; random access is order-free', (t) => {
  const a = hashAll(new MnistDetection({ count: 300, seed: 7 }), 300);
  const b = hashAll(new MnistDetection({ count: 300, seed: 7 }), 300);
  const c = hashAll(new MnistDetection({ count: 300, seed: 8 }), 300);
  t.is(a, b);
  t.not(a, c);
  const ds = new MnistDetection({ count: 300, seed: 7 });
  const first = ds.get(5);
  ds.get(100);
  t.deepEqual(ds.get(5), first);
});

test('train digits come from the 60k training set, val digits from the 10k official test set', (t) => {
  t.is(new MnistDetection({ split: 'train' }).sourceSplit, 'train');
  t.is(new MnistDetection({ split: 'val' }).sourceSplit, 'test');
  t.is(loadMnistSplit('train').count, 60000);
  t.is(loadMnistSplit('test').count, 10000);
  t.not(hashAll(new MnistDetection({ split: 'train', count: 20, seed: 1 }), 20), hashAll(new MnistDetection({ split: 'val', count: 20, seed: 1 }), 20));
});

test('single-digit images: the box is exactly the tight bound of the ink in the image', (t) => {
  const ds = new MnistDetection({ count: 300, seed: 3, digitsPerImage: [1, 1] });
  for (let i = 0; i < ds.length; i++) {
    const s = ds.get(i);
    t.is(s.labels.length, 1);
    // Brute force over every pixel, independent of the generator's own bound computation.
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let y = 0; y < s.height; y++) for (let x = 0; x < s.width; x++) {
      if (px(s, x, y) > 0) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + 1); y1 = Math.max(y1, y + 1); }
    }
    if (s.boxes[0] !== x0 || s.boxes[1] !== y0 || s.boxes[2] !== x1 || s.boxes[3] !== y1) {
      return t.fail(`image ${i}: box ${[...s.boxes]} vs ink [${x0},${y0},${x1},${y1}]`);
    }
  }
  t.pass();
});

test('many images: max overlap (over the SMALLER box) holds, ink lies in boxes, sizes and labels in range', (t) => {
  const maxOverlap = 0.1;
  const ds = new MnistDetection({ count: 1000, seed: 11, maxOverlap });
  let digits = 0;
  let worst = 0;
  for (let i = 0; i < ds.length; i++) {
    const s = ds.get(i);
    const n = s.labels.length;
    digits += n;
    t.true(n >= 1 && n <= 4, `image ${i}: ${n} digits`);
    const boxes = Array.from({ length: n }, (_, k) => [...s.boxes.subarray(4 * k, 4 * k + 4)]);
    for (const [k, b] of boxes.entries()) {
      t.true(s.labels[k]! >= 0 && s.labels[k]! <= 9);
      const hgt = b[3]! - b[1]!;
      if (hgt < 8 || hgt > 40 || b[0]! < 0 || b[2]! > 64) return t.fail(`image ${i}: box ${b} out of size range`);
      // Pixel-count intersection against every other box (brute force on the integer grid).
      for (const o of boxes.slice(k + 1)) {
        let inter = 0;
        for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
          if (x >= b[0]! && x < b[2]! && y >= b[1]! && y < b[3]! && x >= o[0]! && x < o[2]! && y >= o[1]! && y < o[3]!) inter++;
        }
        const smaller = Math.min((b[2]! - b[0]!) * (b[3]! - b[1]!), (o[2]! - o[0]!) * (o[3]! - o[1]!));
        worst = Math.max(worst, inter / smaller);
      }
    }
    // Every ink pixel belongs to some box.
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
      if (px(s, x, y) > 0 && !boxes.some((b) => x >= b[0]! && x < b[2]! && y >= b[1]! && y < b[3]!)) return t.fail(`image ${i}: ink at ${x},${y} outside every box`);
    }
  }
  t.true(worst <= maxOverlap, `worst overlap ${worst}`);
  t.true(worst > 0, 'some digits do overlap, so the check was exercised');
  t.true(digits > 2000, `digits placed: ${digits}`);
});

test('generation speed (measured, not asserted)', (t) => {
  const ds = new MnistDetection({ count: 3000, seed: 1 });
  ds.get(0);
  const t0 = performance.now();
  for (let i = 0; i < ds.length; i++) ds.get(i);
  const dt = performance.now() - t0;
  t.log(`mnist-detection 64x64: ${Math.round((ds.length / dt) * 1000)} images/s`);
  t.pass();
});

test('export -> re-import through coco gives the same pixels, boxes and labels', async (t) => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'detkit-mnist-'));
  try {
    const ds = new MnistDetection({ split: 'val', count: 12, seed: 5 });
    const out = path.join(tmp, 'val');
    const res = await exportCoco(ds, out);
    t.is(res.images, 12);
    const back = await CocoDataset.load({ annFile: res.annFile, imageDir: res.imageDir });
    t.deepEqual(back.classNames, ds.classNames);
    t.deepEqual(back.categoryIds, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    t.is(back.length, 12);
    for (let i = 0; i < 12; i++) {
      const a = ds.get(i);
      const b = await back.get(i);
      t.is(b.imageId, a.imageId);
      t.deepEqual(b.boxes, a.boxes);
      t.deepEqual(b.labels, a.labels);
      t.deepEqual(b.image, a.image);
    }
    // Atomic: no temp folder left next to the output; an existing folder is refused without overwrite.
    t.deepEqual(await fs.readdir(tmp), ['val']);
    const err = await t.throwsAsync(exportCoco(ds, out), { instanceOf: DetkitError });
    t.is(err!.code, 'IO');
    t.deepEqual(await fs.readdir(tmp), ['val']);
    await exportCoco(new MnistDetection({ split: 'val', count: 3, seed: 5 }), out, { overwrite: true });
    t.is((await fs.readdir(path.join(out, 'images'))).length, 3);
    t.deepEqual(await fs.readdir(tmp), ['val']);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
});

test('dataMakeCommand writes a COCO set and reports it; unknown names are refused', async (t) => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'detkit-make-'));
  try {
    const res = await dataMakeCommand({ name: 'mnist-detection', out: path.join(tmp, 'd'), split: 'train', count: 5, seed: 2, canvasSize: 48 });
    t.is(res.images, 5);
    t.regex(res.summary, /mnist-detection train: 5 images/);
    const back = await CocoDataset.load({ annFile: res.annFile, imageDir: res.imageDir });
    t.is((await back.get(0)).width, 48);
    const err = await t.throwsAsync(dataMakeCommand({ name: 'mnist', out: path.join(tmp, 'x') }), { instanceOf: DetkitError });
    t.regex(err!.message, /known: mnist-detection, shapes/);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
});
