import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DetkitError } from '../src/core.js';
import type { Sample } from '../src/core.js';
import { resizeBilinear } from '../src/image/resample.js';
import { ShapesDataset } from '../src/shapes/shapes-dataset.js';
import { buildTransform } from '../src/transforms/build.js';
import { ColorJitter } from '../src/transforms/color-jitter.js';
import { Normalize } from '../src/transforms/normalize.js';
import { cropSample, RandomCrop } from '../src/transforms/random-crop.js';
import { flipHorizontal, RandomFlip } from '../src/transforms/random-flip.js';
import { Resize } from '../src/transforms/resize.js';
import { applyTransforms } from '../src/transforms/transform.js';
import { createRng } from '../src/util/rng.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

/** Tight xyxy bound of pixels that differ from `bg` (brute force over the image). */
function inkBounds(s: Sample, bg: number[]): number[] | undefined {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let y = 0; y < s.height; y++) for (let x = 0; x < s.width; x++) {
    const o = 3 * (y * s.width + x);
    if (s.image[o] === bg[0] && s.image[o + 1] === bg[1] && s.image[o + 2] === bg[2]) continue;
    x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + 1); y1 = Math.max(y1, y + 1);
  }
  return x1 < 0 ? undefined : [x0, y0, x1, y1];
}

/** Single-shape samples with their background colour (read from a pixel outside the box). */
function singleShapes(n: number): { s: Sample; bg: number[] }[] {
  const ds = new ShapesDataset({ count: n, seed: 4, shapesPerImage: [1, 1] });
  return Array.from({ length: n }, (_, i) => {
    const s = ds.get(i);
    const [x0, y0] = [s.boxes[0]!, s.boxes[1]!];
    const [x, y] = x0 > 0 ? [0, 0] : y0 > 0 ? [0, 0] : [s.width - 1, s.height - 1];
    return { s, bg: [...s.image.subarray(3 * (y * s.width + x), 3 * (y * s.width + x) + 3)] };
  });
}

test('shapes: boxes are exactly the painted pixels (the premise of the pixel checks below)', (t) => {
  for (const { s, bg } of singleShapes(60)) t.deepEqual(inkBounds(s, bg), [...s.boxes]);
});

test('resizeBilinear matches tf.image.resizeBilinear (halfPixelCenters) on the cpu backend', (t) => {
  const rng = createRng(1);
  for (const [h, w, nh, nw] of [[7, 5, 13, 9], [16, 12, 5, 7], [4, 4, 4, 4], [9, 20, 30, 3]] as const) {
    const src = Float32Array.from({ length: h * w * 3 }, () => rng.next());
    const ours = resizeBilinear(src, h, w, 3, nh, nw);
    const ref = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(src, [h, w, 3]), [nh, nw], false, true).dataSync());
    const err = Math.max(...ours.map((v, i) => Math.abs(v - ref[i]!)));
    t.true(err < 1e-5, `${h}x${w}->${nh}x${nw}: max err ${err}`);
  }
});

test('resize keeps aspect, honours shorterSide and maxSize, scales boxes exactly', (t) => {
  const r = new Resize({ shorterSide: 32, maxSize: 50 });
  t.deepEqual(r.targetSize(20, 40), [25, 50]); // 1.6x would give 64 > 50, so 1.25x
  t.deepEqual(r.targetSize(40, 40), [32, 32]);
  t.deepEqual(new Resize({ maxSize: 10 }).targetSize(20, 40), [5, 10]);
  const s: Sample = {
    image: new Float32Array(20 * 40 * 3), height: 20, width: 40, channels: 3,
    boxes: Float32Array.from([4, 8, 20, 16]), labels: Int32Array.from([2]), imageId: 1,
  };
  const out = r.apply(s);
  t.is(out.height, 25);
  t.is(out.width, 50);
  t.deepEqual([...out.boxes], [5, 10, 25, 20]);
  t.is(out.image.length, 25 * 50 * 3);
  t.throws(() => new Resize({}), { instanceOf: DetkitError });
});

test('flip: boxes follow the pixels (brute force), and flipping twice is the identity', (t) => {
  for (const { s, bg } of singleShapes(60)) {
    const f = flipHorizontal(s);
    t.deepEqual(inkBounds(f, bg), [...f.boxes]);
    const ff = flipHorizontal(f);
    t.deepEqual(ff.image, s.image);
    t.deepEqual(ff.boxes, s.boxes);
  }
  const flip = new RandomFlip(0.5);
  const s = singleShapes(1)[0]!.s;
  let flipped = 0;
  for (let i = 0; i < 200; i++) if (flip.apply(s, createRng(i)) !== s) flipped++;
  t.true(flipped > 70 && flipped < 130, `flipped ${flipped}/200`);
  t.is(new RandomFlip(0).apply(s, createRng(1)), s);
});

test('crop: visible pixels stay inside kept boxes, squares stay tight, dropped boxes were too small', (t) => {
  const rng = createRng(9);
  let kept = 0;
  let dropped = 0;
  for (const { s, bg } of singleShapes(60)) {
    for (let k = 0; k < 5; k++) {
      const cw = 10 + rng.int(55);
      const ch = 10 + rng.int(55);
      const x0 = rng.int(64 - cw + 1);
      const y0 = rng.int(64 - ch + 1);
      const c = cropSample(s, x0, y0, cw, ch, 3, 0);
      t.is(c.width, cw);
      t.is(c.height, ch);
      const ink = inkBounds(c, bg);
      // Independent clip of the original box.
      const cx0 = Math.max(s.boxes[0]! - x0, 0), cy0 = Math.max(s.boxes[1]! - y0, 0);
      const cx1 = Math.min(s.boxes[2]! - x0, cw), cy1 = Math.min(s.boxes[3]! - y0, ch);
      if (c.labels.length === 1) {
        kept++;
        t.deepEqual([...c.boxes], [cx0, cy0, cx1, cy1]);
        // A clipped circle/triangle box can hold only a corner without paint: ink may be absent, never outside.
        t.true(ink === undefined || (ink[0]! >= cx0 && ink[1]! >= cy0 && ink[2]! <= cx1 && ink[3]! <= cy1));
        if (s.labels[0] === 1) t.deepEqual(ink, [cx0, cy0, cx1, cy1]); // a square fills its box
      } else {
        dropped++;
        t.true(cx1 - cx0 < 3 || cy1 - cy0 < 3, 'only too-small boxes are dropped');
      }
    }
  }
  t.true(kept > 50 && dropped > 5, `kept ${kept}, dropped ${dropped}`);
});

test('random-crop drops boxes below minVisibility and keeps the rest inside the window', (t) => {
  const ds = new ShapesDataset({ count: 40, seed: 2 });
  const crop = new RandomCrop({ scale: [0.4, 0.8], minBoxSize: 2, minVisibility: 0.5 });
  for (let i = 0; i < ds.length; i++) {
    const s = ds.get(i);
    const c = crop.apply(s, createRng(i));
    t.deepEqual(crop.apply(s, createRng(i)), c, 'pure in the rng');
    for (let k = 0; k < c.labels.length; k++) {
      const [x0, y0, x1, y1] = [...c.boxes.subarray(4 * k, 4 * k + 4)] as [number, number, number, number];
      t.true(x0 >= 0 && y0 >= 0 && x1 <= c.width && y1 <= c.height && x1 - x0 >= 2 && y1 - y0 >= 2);
    }
    t.is(c.iscrowd!.length, c.labels.length);
  }
});

test('color-jitter: pure in the rng, values in [0, 1], boxes untouched, zero strength is identity', (t) => {
  const s = new ShapesDataset({ count: 1, seed: 3 }).get(0);
  const cj = new ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4 });
  const a = cj.apply(s, createRng(5));
  t.deepEqual(cj.apply(s, createRng(5)), a);
  t.notDeepEqual(cj.apply(s, createRng(6)).image, a.image);
  t.true(a.image.every((v) => v >= 0 && v <= 1));
  t.is(a.boxes, s.boxes);
  const id = new ColorJitter({ brightness: 0, contrast: 0, saturation: 0 }).apply(s, createRng(1));
  t.true(id.image.every((v, i) => Math.abs(v - s.image[i]!) < 1e-6));
});

test('normalize: (x - mean) / std per channel, by hand', (t) => {
  const s: Sample = {
    image: Float32Array.from([0.5, 0.5, 0.5, 1, 0, 0.25]), height: 1, width: 2, channels: 3,
    boxes: new Float32Array(0), labels: new Int32Array(0), imageId: 1,
  };
  const out = new Normalize([0.5, 0.25, 0], [0.5, 0.25, 0.5]).apply(s);
  t.deepEqual([...out.image], [0, 1, 1, 1, -1, 0.5]);
});

test('applyTransforms from configs is a pure function of the seed', (t) => {
  const ts = [
    buildTransform({ type: 'random-crop', scale: [0.5, 1] }),
    buildTransform({ type: 'random-flip' }),
    buildTransform({ type: 'color-jitter' }),
    buildTransform({ type: 'resize', maxSize: 48 }),
    buildTransform({ type: 'normalize' }),
  ];
  const s = new ShapesDataset({ count: 1, seed: 1 }).get(0);
  const a = applyTransforms(s, ts, createRng(42));
  t.deepEqual(applyTransforms(s, ts, createRng(42)), a);
  t.is(Math.max(a.width, a.height), 48);
});

test('transform configs: unknown names list the known ones; bad params name the key', (t) => {
  const e1 = t.throws(() => buildTransform({ type: 'rezise' }), { instanceOf: DetkitError });
  t.regex(e1!.message, /unknown transform 'rezise'; known: resize, random-flip/);
  const e2 = t.throws(() => buildTransform({ type: 'random-flip', prob: 2 }), { instanceOf: DetkitError });
  t.is(e2!.code, 'CONFIG_INVALID');
  t.regex(e2!.message, /'prob' must be <= 1/);
});
