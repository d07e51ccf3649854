import test from 'ava';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { CocoDataset } from '../src/coco/coco-dataset.js';
import { DetkitError } from '../src/core.js';
import { DataLoader } from '../src/loader/loader.js';

/** Four 16x16 PNGs with one box each; image 2's body is cut in half (its header still reads). */
async function fixture(): Promise<{ annFile: string; imageDir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'coco-trunc-'));
  const imageDir = join(dir, 'images');
  mkdirSync(imageDir);
  const images = [];
  for (let id = 1; id <= 4; id++) {
    const raw = Buffer.alloc(16 * 16 * 3, id * 40);
    const png = await sharp(raw, { raw: { width: 16, height: 16, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    writeFileSync(join(imageDir, `${id}.png`), id === 2 ? png.subarray(0, png.length >> 1) : png);
    images.push({ id, file_name: `${id}.png`, width: 16, height: 16 });
  }
  const annotations = images.map((im) => ({ id: im.id, image_id: im.id, category_id: 1, bbox: [2, 2, 8, 8] }));
  const annFile = join(dir, 'instances.json');
  writeFileSync(annFile, JSON.stringify({ images, annotations, categories: [{ id: 1, name: 'x' }] }));
  return { annFile, imageDir };
}

test('a truncated PNG passes the header check; with skipInvalid it is skipped, counted and warned about when read, and an epoch completes', async (t) => {
  await tf.setBackend('cpu');
  const warnings: string[] = [];
  const logger = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
  const files = await fixture();
  const strict = await CocoDataset.load(files);
  t.is(strict.length, 4, 'the header check passes');
  const err = await t.throwsAsync(strict.get(1), { instanceOf: DetkitError });
  t.is(err!.code, 'DATASET_INVALID');

  const ds = await CocoDataset.load({ ...files, skipInvalid: true, logger });
  const s = await ds.get(1);
  t.is(s.imageId, 3, 'the next decodable image takes its place');
  t.is(ds.skippedCount, 1);
  t.regex(ds.skipped[0]!.record, /id 2, file .*2\.png/);
  t.is(warnings.length, 1);
  t.regex(warnings[0]!, /id 2, file .*2\.png\) skipped: cannot decode image/);
  const loader = new DataLoader(ds, { batchSize: 2, shuffle: true, seed: 1 });
  const ids: number[] = [];
  for (const epoch of [0, 1]) {
    for await (const b of loader.batches(epoch)) {
      ids.push(...b.targets.map((x) => x.imageId));
      b.images.dispose();
      b.masks.dispose();
    }
  }
  t.is(ids.length, 8);
  t.false(ids.includes(2));
  t.is(ds.skippedCount, 1, 'counted once');
  t.is(warnings.length, 1, 'warned once');
});

test("verifyImages: 'decode' finds the truncated body at load (skipped with skipInvalid, else DATASET_INVALID)", async (t) => {
  const files = await fixture();
  const err = await t.throwsAsync(CocoDataset.load({ ...files, verifyImages: 'decode' }), { instanceOf: DetkitError });
  t.regex(err!.message, /images \(id 2, file .*2\.png\): image file .*unreadable or corrupt/);
  const ds = await CocoDataset.load({ ...files, verifyImages: 'decode', skipInvalid: true });
  t.is(ds.length, 3);
  t.is(ds.skippedCount, 1);
});
