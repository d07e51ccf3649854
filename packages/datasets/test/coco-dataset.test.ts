import test from 'ava';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CocoDataset } from '../src/coco/coco-dataset.js';
import { DetkitError } from '../src/core.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'coco');
const imageDir = path.join(dir, 'images');
const load = (file: string, extra: Partial<Parameters<typeof CocoDataset.load>[0]> = {}) =>
  CocoDataset.load({ annFile: path.join(dir, file), imageDir, ...extra });

test('valid file: labels follow sorted category ids, crowd and areas kept, pixels decoded exactly', async (t) => {
  const ds = await load('valid.json');
  t.is(ds.length, 3);
  t.deepEqual(ds.classNames, ['dog', 'cat']); // ids 3, 7 sorted
  t.deepEqual(ds.categoryIds, [3, 7]);
  t.is(ds.skippedCount, 0);

  const a = await ds.get(0);
  t.is(a.imageId, 1);
  t.is(a.width, 8);
  t.is(a.height, 6);
  t.is(a.channels, 3);
  // bbox [1,1,3,2] -> xyxy [1,1,4,3]; crowd box [0,0,8,6] kept with its flag.
  t.deepEqual([...a.boxes], [1, 1, 4, 3, 0, 0, 8, 6]);
  t.deepEqual([...a.labels], [1, 0]);
  t.deepEqual([...a.iscrowd!], [0, 1]);
  t.deepEqual([...a.areas], [5.5, 48]); // given area; w*h when absent
  // The fixture's pixel (x, y) is (30x, 40y, 200) / 255: PNG is lossless.
  for (const [x, y] of [[0, 0], [7, 5], [3, 2]] as const) {
    const o = 3 * (y * 8 + x);
    t.is(a.image[o], Math.fround((30 * x) / 255));
    t.is(a.image[o + 1], Math.fround((40 * y) / 255));
    t.is(a.image[o + 2], Math.fround(200 / 255));
  }

  const b = await ds.get(1);
  t.deepEqual([...b.boxes], [2, 3, 6, 8]);
  t.true(Math.abs(b.image[0]! - 128 / 255) < 3 / 255, 'JPEG grey decodes near 128');

  const g = await ds.get(2); // single-channel PNG expanded to 3 channels
  t.is(g.channels, 3);
  t.is(g.image.length, 5 * 4 * 3);
  t.is(g.image[4], Math.fround(77 / 255));
  t.is(g.labels.length, 0);

  const inst = ds.toCocoInstances();
  t.is(inst.annotations.length, 3);
});

/** Each fixture with its one defect, and words the message must contain. */
const cases: [string, RegExp][] = [
  ['malformed.json', /malformed JSON in .*malformed\.json at line 4, column 26/],
  ['truncated.json', /malformed JSON in .*truncated\.json at line 3/],
  ['does-not-exist.json', /cannot read annotation file .*does-not-exist\.json/],
  ['missing-categories.json', /missing array 'categories'/],
  ['missing-bbox.json', /annotations\[2\] \(id 3\): 'bbox' must be/],
  ['missing-file-name.json', /images\[1\] \(id 2\): missing or empty 'file_name'/],
  ['zero-width.json', /annotations\[0\] \(id 1\): bbox \[1,1,0,2\] has non-positive width or height/],
  ['negative-height.json', /annotations\[2\] \(id 3\): bbox .* non-positive/],
  ['box-outside.json', /annotations\[2\] \(id 3\): bbox \[5,5,9,3\] lies outside image 2 \(10x10\)/],
  ['unknown-category.json', /annotations\[1\] \(id 2\): unknown category_id 99/],
  ['duplicate-image-id.json', /images\[3\] \(id 2\): duplicate image id 2/],
  ['path-traversal.json', /images\[0\] \(id 1\): file_name '\.\.\/valid\.json' points outside the image folder/],
  ['absolute-path.json', /images\[0\] \(id 1\): file_name '\/etc\/passwd' is absolute/],
  ['missing-image.json', /image file .*nope\.jpg is missing/],
  ['corrupt-image.json', /image file .*corrupt\.png is unreadable or corrupt/],
  ['size-mismatch.json', /a\.png is 8x6 but the JSON says 9x6/],
];

for (const [file, pattern] of cases) {
  test(`fails fast with DATASET_INVALID: ${file}`, async (t) => {
    const err = await t.throwsAsync(load(file), { instanceOf: DetkitError });
    t.is(err!.code, 'DATASET_INVALID');
    t.regex(err!.message, pattern);
    t.true(err!.message.includes(file), 'names the file');
  });
}

test('skipInvalid skips bad records, counts them and warns once', async (t) => {
  const warnings: string[] = [];
  const logger = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
  const ds = await load('several-bad.json', { skipInvalid: true, logger });
  // Skipped: annotation with unknown category, annotation with zero width, image with a missing file.
  t.is(ds.skippedCount, 3);
  t.deepEqual(ds.skipped.map((s) => s.record.split(' ')[0]), ['annotations[3]', 'annotations[4]', 'images']);
  t.is(ds.length, 3);
  t.is(warnings.length, 1);
  t.regex(warnings[0]!, /skipped 3 invalid record/);
  const b = await ds.get(1);
  t.deepEqual([...b.boxes], [2, 3, 6, 8], 'the valid annotation of the same image survives');
});

test('skipInvalid: a skipped image takes its annotations with it', async (t) => {
  const ds = await load('unknown-category.json', { skipInvalid: true });
  t.is(ds.skippedCount, 1);
  const a = await ds.get(0);
  t.deepEqual([...a.labels], [1]);
});
