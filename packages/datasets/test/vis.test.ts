import test from 'ava';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { Sample } from '../src/core.js';
import { drawDetections } from '../src/vis/draw.js';
import { writeVisualisations } from '../src/vis/write.js';

const grey = (h: number, w: number): Sample => ({
  image: new Float32Array(h * w * 3).fill(0.5), height: h, width: w, channels: 3,
  boxes: Float32Array.from([10, 10, 40, 30]), labels: Int32Array.from([1]), imageId: 3,
});

async function pixel(png: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const o = (y * info.width + x) * info.channels;
  return [data[o]!, data[o + 1]!, data[o + 2]!];
}

test('drawDetections: PNG of the image size, GT and prediction edges in their colours, background untouched', async (t) => {
  const s = grey(48, 64);
  const png = await drawDetections(s, {
    predictions: [{ box: [20, 5, 60, 44], label: 0, score: 0.9 }, { box: [2, 2, 8, 8], label: 0, score: 0.1 }],
    classNames: ['zero', 'one'],
    scoreThreshold: 0.5,
  });
  const meta = await sharp(png).metadata();
  t.is(meta.format, 'png');
  t.is(meta.width, 64);
  t.is(meta.height, 48);
  t.deepEqual(await pixel(png, 10, 20), [0, 255, 0], 'GT left edge is green');
  t.deepEqual(await pixel(png, 60, 25), [255, 0, 0], 'prediction right edge is red');
  t.deepEqual(await pixel(png, 2, 5), [128, 128, 128], 'the low-score prediction is not drawn');
  t.deepEqual(await pixel(png, 30, 40), [128, 128, 128], 'away from boxes the image is unchanged');
});

test('drawDetections: scale, hidden ground truth, custom colours', async (t) => {
  const png = await drawDetections(grey(20, 30), { groundTruth: false, predictions: [{ box: [5, 5, 15, 15], label: 1, score: 1 }], predColor: '#0000ff', scale: 3 });
  const meta = await sharp(png).metadata();
  t.deepEqual([meta.width, meta.height], [90, 60]);
  t.deepEqual(await pixel(png, 15, 30), [0, 0, 255]);
  t.deepEqual(await pixel(png, 30, 30), [128, 128, 128], 'ground truth hidden');
});

test('writeVisualisations writes one PNG per item, named by image id', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'detkit-vis-'));
  try {
    const files = await writeVisualisations(path.join(dir, 'out'), [{ image: grey(16, 16) }, { image: grey(8, 8), name: 'second' }]);
    t.deepEqual(files.map((f) => path.basename(f)), ['3.png', 'second.png']);
    t.deepEqual((await fs.readdir(path.join(dir, 'out'))).sort(), ['3.png', 'second.png']);
    t.is((await sharp(files[1]!).metadata()).width, 8);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
