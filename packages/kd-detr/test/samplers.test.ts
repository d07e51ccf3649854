import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs'; // registers gradients (tfjs-core alone has none) and the cpu backend
import { GeneralSampler, SpecificSampler } from '../src/index.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

const teacherAnchors = () => tf.tensor2d([[0.1, -0.2, 0.3, 0.4], [1, 2, -1, -2]]);

test('general points are resampled every iteration and identical within one', (t) => {
  const s = new GeneralSampler({ count: 50, seed: 7 });
  const a = s.sample({ iter: 3, teacherAnchors: teacherAnchors() });
  const b = s.sample({ iter: 3, teacherAnchors: teacherAnchors() });
  const c = s.sample({ iter: 4, teacherAnchors: teacherAnchors() });
  t.deepEqual(a.shape, [50, 4]);
  t.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  t.notDeepEqual(Array.from(a.dataSync()), Array.from(c.dataSync()));
});

test('run seeds 0, 1, 2 give different point streams, not one stream shifted by an iteration', (t) => {
  const points = (seed: number, iter: number) => {
    const q = new GeneralSampler({ count: 8, seed }).sample({ iter, teacherAnchors: teacherAnchors() });
    const v = Array.from(q.dataSync());
    q.dispose();
    return v;
  };
  const iters = [0, 1, 2, 3, 4, 5];
  const streams = [0, 1, 2].map((seed) => iters.map((it) => points(seed, it)));
  // No iteration of one seed's stream (within a window of shifts) reproduces another seed's points.
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      if (a === b) continue;
      for (const i of iters) for (const j of iters) t.notDeepEqual(streams[a]![i], streams[b]![j], `seed ${a} iter ${i} = seed ${b} iter ${j}`);
    }
  }
  // Still a pure function of (seed, iteration): a resumed run sees the same points.
  t.deepEqual(points(1, 4), streams[1]![4]);
});

test('general points follow the configured normal in pre-sigmoid space', (t) => {
  const s = new GeneralSampler({ count: 5000, seed: 1, mean: 0.5, std: 2 });
  const x = Array.from(s.sample({ iter: 0, teacherAnchors: teacherAnchors() }).dataSync());
  const mean = x.reduce((p, v) => p + v, 0) / x.length;
  const std = Math.sqrt(x.reduce((p, v) => p + (v - mean) ** 2, 0) / x.length);
  // 20000 draws: the standard error of the mean is 2/sqrt(20000) ~ 0.014.
  t.true(Math.abs(mean - 0.5) < 0.06, `mean ${mean}`);
  t.true(Math.abs(std - 2) < 0.06, `std ${std}`);
});

test('general sampler rejects a non-positive count', (t) => {
  t.throws(() => new GeneralSampler({ count: 0 }), { instanceOf: RangeError, message: /count/ });
});

test('specific points equal the teacher anchors and are detached from any gradient', (t) => {
  const anchors = teacherAnchors();
  const s = new SpecificSampler();
  const q = s.sample({ iter: 0, teacherAnchors: anchors });
  t.deepEqual(Array.from(q.dataSync()), Array.from(anchors.dataSync()));
  // Inside a gradient tape the copy is detached: a loss on it gives the anchors zero gradient.
  const v = tf.variable(anchors);
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(s.sample({ iter: 0, teacherAnchors: v }), 3)) as tf.Scalar, [v]);
  t.deepEqual(Array.from(grads[v.name]!.dataSync()), new Array(8).fill(0));
});

test("sampler 'specific': content defaults to 'zeros'; 'learned' is kept; anything else fails naming the key", async (t) => {
  const { testRegistry } = await import('./helpers.js');
  const { registry } = await testRegistry();
  t.is((await registry.build<SpecificSampler>('sampler', { type: 'specific' })).content, 'zeros');
  t.is((await registry.build<SpecificSampler>('sampler', { type: 'specific', content: 'learned' })).content, 'learned');
  const e = await t.throwsAsync(registry.build('sampler', { type: 'specific', content: 'teacher' }));
  t.regex(e!.message, /sampler specific\.content must be one of 'zeros', 'learned', got "teacher"/);
  t.like(e, { code: 'CONFIG_INVALID', details: { key: 'sampler specific.content' } });
});
