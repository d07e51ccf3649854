// RoIAlign (separable, batched matmuls + gather) against a float64 port of torchvision's
// per-sample kernel, and its gradient against finite differences of that reference.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { selectBackend, silentLogger } from '@detkit/core';
import { mapLevels, roiAlign, type RoiAlignOptions, type Rois } from '../src/faster-rcnn/roi-align.js';
import { rng } from './box-helpers.js';

interface Map64 {
  data: Float64Array; // [B,H,W,C]
  shape: [number, number, number, number];
  stride: number;
}

/** torchvision's bilinear_interpolate, float64. */
function bilinear(m: Map64, b: number, y: number, x: number, ch: number): number {
  const [, h, w, c] = m.shape;
  if (y < -1 || y > h || x < -1 || x > w) return 0;
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  let yl = Math.floor(y), xl = Math.floor(x), yh: number, xh: number;
  if (yl >= h - 1) { yh = yl = h - 1; y = yl; } else yh = yl + 1;
  if (xl >= w - 1) { xh = xl = w - 1; x = xl; } else xh = xl + 1;
  const ly = y - yl, lx = x - xl, hy = 1 - ly, hx = 1 - lx;
  const at = (yy: number, xx: number) => m.data[((b * h + yy) * w + xx) * c + ch]!;
  return hy * hx * at(yl, xl) + hy * lx * at(yl, xh) + ly * hx * at(yh, xl) + ly * lx * at(yh, xh);
}

/** torchvision roi_align_forward, one sample at a time, float64. Output [R,P,P,C]. */
function referenceRoiAlign(levels: Map64[], rois: Rois, o: RoiAlignOptions): Float64Array {
  const r = rois.imageIndex.length;
  const p = o.outputSize, g = o.samplingRatio;
  const c = levels[0]!.shape[3];
  const out = new Float64Array(r * p * p * c);
  const off = o.aligned ? 0.5 : 0;
  for (let k = 0; k < r; k++) {
    const m = levels[rois.level[k]!]!;
    const s = 1 / m.stride;
    const [x0, y0, x1, y1] = [0, 1, 2, 3].map((i) => rois.boxes[4 * k + i]!);
    const sx = x0! * s - off, sy = y0! * s - off;
    let rw = x1! * s - off - sx, rh = y1! * s - off - sy;
    if (!o.aligned) { rw = Math.max(rw, 1); rh = Math.max(rh, 1); }
    const bw = rw / p, bh = rh / p;
    for (let ph = 0; ph < p; ph++) for (let pw = 0; pw < p; pw++) for (let ch = 0; ch < c; ch++) {
      let acc = 0;
      for (let iy = 0; iy < g; iy++) for (let ix = 0; ix < g; ix++) {
        acc += bilinear(m, rois.imageIndex[k]!, sy + ph * bh + ((iy + 0.5) * bh) / g, sx + pw * bw + ((ix + 0.5) * bw) / g, ch);
      }
      out[((k * p + ph) * p + pw) * c + ch] = acc / (g * g);
    }
  }
  return out;
}

/** Two images, two levels (strides 4 and 8), RoIs inside, across the border and tiny. */
function fixture(seed: number) {
  const r = rng(seed);
  const shapes: Array<[number, number, number, number]> = [[2, 9, 11, 3], [2, 5, 6, 3]];
  const levels: Map64[] = shapes.map((shape, l) => ({ shape, stride: 4 * 2 ** l, data: Float64Array.from({ length: shape.reduce((a, v) => a * v, 1) }, () => 2 * r() - 1) }));
  const boxes = [2, 3, 30, 20, -6, -5, 10, 12, 30, 25, 50, 40, 7, 7, 8.5, 9, 0, 0, 44, 36, 10, 12, 38, 30, 40, 2, 47, 33];
  const rois: Rois = { imageIndex: [0, 1, 1, 0, 0, 1, 1], boxes, level: [0, 0, 1, 0, 1, 1, 0] };
  return { levels, rois };
}

const tensorsOf = (levels: Map64[]) => levels.map((m) => ({ features: tf.tensor4d(Float32Array.from(m.data), m.shape), stride: m.stride }));

for (const o of [
  { outputSize: 7, samplingRatio: 2, aligned: true },
  { outputSize: 3, samplingRatio: 1, aligned: false },
  { outputSize: 2, samplingRatio: 3, aligned: false },
] satisfies RoiAlignOptions[]) {
  test.serial(`values equal the float64 per-sample reference (${JSON.stringify(o)})`, async (t) => {
    await tf.setBackend('cpu');
    const { levels, rois } = fixture(1);
    const want = referenceRoiAlign(levels, rois, o);
    const lv = tensorsOf(levels);
    const got = roiAlign(lv, rois, o);
    t.deepEqual(got.shape, [7, o.outputSize, o.outputSize, 3]);
    const v = await got.data();
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(v[i]! - want[i]!));
    t.true(worst < 1e-5, `max |diff| ${worst}`);
    tf.dispose([got, ...lv.map((l) => l.features)]);
  });
}

async function gradientMatchesFiniteDifferences(t: import('ava').ExecutionContext) {
  const o: RoiAlignOptions = { outputSize: 3, samplingRatio: 2, aligned: true };
  const { levels, rois } = fixture(2);
  const r = rng(9);
  const weights = Float64Array.from({ length: 7 * 3 * 3 * 3 }, () => 2 * r() - 1);
  const objective = (ls: Map64[]) => referenceRoiAlign(ls, rois, o).reduce((a, v, i) => a + v * weights[i]!, 0);
  const lv = tensorsOf(levels);
  const before = tf.memory().numTensors;
  const grads = tf.grads((...fs: tf.Tensor[]) =>
    tf.sum(tf.mul(roiAlign(fs.map((f, l) => ({ features: f as tf.Tensor4D, stride: levels[l]!.stride })), rois, o), tf.tensor4d(Float32Array.from(weights), [7, 3, 3, 3]))),
  )(lv.map((l) => l.features));
  const eps = 1e-3;
  let worst = 0;
  for (let l = 0; l < levels.length; l++) {
    const g = await grads[l]!.data();
    for (let i = 0; i < levels[l]!.data.length; i++) {
      const shifted = (d: number) => levels.map((m, k) => (k === l ? { ...m, data: Float64Array.from(m.data, (v, j) => (j === i ? v + d : v)) } : m));
      const fd = (objective(shifted(eps)) - objective(shifted(-eps))) / (2 * eps);
      worst = Math.max(worst, Math.abs(fd - g[i]!));
    }
  }
  tf.dispose([...grads, ...lv.map((l) => l.features)]);
  t.true(worst < 1e-4, `max |grad - finite difference| ${worst}`);
  t.is(tf.memory().numTensors, before - lv.length);
}

test.serial('gradient to the features equals finite differences of the reference (cpu)', async (t) => {
  await tf.setBackend('cpu');
  await gradientMatchesFiniteDifferences(t);
});

test.serial('gradient to the features equals finite differences of the reference (wasm: UnsortedSegmentSum kernel)', async (t) => {
  await selectBackend({ backend: 'wasm', logger: silentLogger });
  t.is(tf.getBackend(), 'wasm');
  await gradientMatchesFiniteDifferences(t);
});

test.serial('no RoI on a level, or none at all', async (t) => {
  await tf.setBackend('cpu');
  const { levels, rois } = fixture(3);
  const lv = tensorsOf(levels);
  const only0: Rois = { imageIndex: [0], boxes: Array.from(rois.boxes).slice(0, 4), level: [0] };
  const out = roiAlign(lv, only0, { outputSize: 2, samplingRatio: 2, aligned: true });
  t.deepEqual(out.shape, [1, 2, 2, 3]);
  const none = roiAlign(lv, { imageIndex: [], boxes: [], level: [] }, { outputSize: 2, samplingRatio: 2, aligned: true });
  t.deepEqual(none.shape, [0, 2, 2, 3]);
  tf.dispose([out, none, ...lv.map((l) => l.features)]);
});

test('level mapper: FPN eq. 1 with a canonical 32 px box on level 3, clamped to [2, 4]', (t) => {
  const o = { canonicalScale: 32, canonicalLevel: 3, minLevel: 2, maxLevel: 4 };
  // sqrt(area): 8 -> k=1 -> clamp 2; 31.9 -> 2; 32 -> 3; 64 -> 4; 200 -> clamp 4; degenerate -> 2.
  const boxes = [0, 0, 8, 8, 0, 0, 31.9, 31.9, 0, 0, 32, 32, 0, 0, 64, 64, 0, 0, 200, 200, 5, 5, 5, 9];
  t.deepEqual(Array.from(mapLevels(boxes, o)), [0, 0, 1, 2, 2, 0]);
});
