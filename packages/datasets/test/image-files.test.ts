import test from 'ava';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDetkitError } from '@detkit/core';
import { ImageFiles, MnistDetection, encodePng } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'detkit-images-'));

test.before(async () => {
  const mnist = new MnistDetection({ split: 'val', count: 2 });
  for (const i of [0, 1]) {
    const s = await mnist.get(i);
    writeFileSync(join(dir, `00000${i + 7}.png`), await encodePng(s.image, s.height, s.width, s.channels));
  }
  mkdirSync(join(dir, 'named'));
  copyFileSync(join(dir, '000007.png'), join(dir, 'named', 'b.png'));
  copyFileSync(join(dir, '000008.png'), join(dir, 'named', 'a.png'));
  writeFileSync(join(dir, 'named', 'notes.txt'), 'not an image');
});

test('ids: a numeric file name is the image id; other names are numbered 1..N in sorted order', async (t) => {
  const numeric = await ImageFiles.open({ paths: [dir] });
  t.deepEqual(numeric.imageIds, [7, 8]);
  const named = await ImageFiles.open({ paths: [join(dir, 'named')], classNames: ['x'] });
  t.deepEqual(named.files.map((f) => f.slice(-5)), ['a.png', 'b.png']);
  t.deepEqual(named.imageIds, [1, 2]);
  // Same pixels whatever the name; no annotations.
  const [a, b] = [await numeric.get(0), await named.get(1)];
  t.deepEqual(a.image, b.image);
  t.is(a.boxes.length, 0);
  t.deepEqual(named.classNames, ['x']);
});

test('a file that is not a PNG/JPEG, a missing path and an empty list are clear errors', async (t) => {
  for (const paths of [[join(dir, 'named', 'notes.txt')], [join(dir, 'missing.png')], []]) {
    const e = await t.throwsAsync(ImageFiles.open({ paths }));
    t.true(isDetkitError(e), String(e));
    t.regex(e!.message, /^images: /);
  }
});
