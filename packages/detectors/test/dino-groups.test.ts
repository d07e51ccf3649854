// DINO's one attention layout for every extra query: denoising groups (see themselves and the
// matching queries), matching queries (see themselves), distillation groups (isolated), in one
// decoder pass; and the layout attention against a float64 brute force and the dense mask.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTfjsGradients } from '@detkit/core';
import {
  composeLayout, layoutMask, layoutMaskValues, multiHeadAttention, MASKED,
  type AttentionLayout, type DeformableEncoded, type DinoTrainOutputs, type QueryGroup, type UniformSource,
} from '../src/detectors.js';
import { maxAbsDiff } from '@detkit/core/testing';
import { disposeBatch, tinyBatch, tinyDino } from './detr-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await registerTfjsGradients();
});

/** A noise source that replays the same draws after `reset()`. */
function replayable(seed: number): UniformSource & { reset: () => void } {
  let s = seed;
  const r = (() => ((s = (s * 48271) % 2147483647) / 2147483647)) as UniformSource & { reset: () => void };
  r.reset = () => void (s = seed);
  return r;
}

const values = (o: { logits: tf.Tensor3D[]; boxes: tf.Tensor3D[] }) => [...o.logits, ...o.boxes].map((x) => Array.from(x.dataSync()));
const diff = (a: number[][], b: number[][]) => Math.max(...a.map((x, i) => maxAbsDiff(x, b[i]!)));

function distillationGroups(): QueryGroup[] {
  return [
    { anchors: tf.randomNormal([7, 4], 0, 1, 'float32', 11) as tf.Tensor2D },
    { anchors: tf.randomNormal([2, 5, 4], 0, 1, 'float32', 12) as tf.Tensor3D }, // per image, as the specific points of a DINO teacher
  ];
}

test('distillation groups beside denoising: denoising and matching outputs change by <= 1e-5, distillation outputs are the same with and without denoising', (t) => {
  const random = replayable(5);
  const m = tinyDino({ denoisingRandom: random });
  const batch = tinyBatch(2, 16, 3);
  tf.tidy(() => {
    const groups = distillationGroups();
    random.reset();
    const plain = m.forwardTrain(batch);
    random.reset();
    const withGroups = m.forwardTrain(batch, { groups });
    const p = plain.outputs as DinoTrainOutputs;
    const w = withGroups.outputs as DinoTrainOutputs;
    t.truthy(p.denoising && w.denoising, 'training mode decodes denoising queries');
    t.deepEqual(Array.from(p.denoising!.queries.anchors), Array.from(w.denoising!.queries.anchors), 'the replayed noise differs');
    const dDn = diff(values(p.denoising!.output), values(w.denoising!.output));
    const dMatch = diff(values(p.detection), values(w.detection));
    t.true(dDn <= 1e-5, `denoising outputs changed by ${dDn}`);
    t.true(dMatch <= 1e-5, `matching outputs changed by ${dMatch}`);
    for (const k of Object.keys(plain.losses)) t.true(Math.abs(plain.losses[k]!.dataSync()[0]! - withGroups.losses[k]!.dataSync()[0]!) <= 1e-5, k);
    // The same groups decoded without any denoising query (and without the matching queries).
    const alone = m.decode(w.encoded, groups, { detection: false });
    w.groups.forEach((g, i) => {
      const d = diff(values(g), values(alone.groups[i]!));
      t.true(d <= 1e-5, `distillation group ${i} changed by ${d} next to the denoising queries`);
    });
    // The matching queries never see the denoising ones: the same as a decode without denoising.
    const evalLike = m.decode(w.encoded, []);
    t.true(diff(values(w.detection), values(evalLike.detection)) <= 1e-5);
  });
  disposeBatch(batch);
  m.dispose();
});

test('the layout matters (the tests above can fail): without it the denoising queries change the matching outputs; a denoising group sees the matching queries', (t) => {
  const random = replayable(9);
  const m = tinyDino({ denoisingRandom: random });
  const batch = tinyBatch(2, 16, 3);
  tf.tidy(() => {
    random.reset();
    const r = m.forwardTrain(batch);
    const o = r.outputs as DinoTrainOutputs;
    const dn = o.denoising!;
    const enc = o.encoded as DeformableEncoded;
    const det = m.detectionQueries(enc);
    const B = 2;
    const dnAnchors = tf.sigmoid(tf.tensor3d(dn.queries.anchors, [B, dn.queries.padSize, 4])) as tf.Tensor3D;
    // The model's inputs: label_enc rows of the noised labels, zeros for padding.
    const labels = Array.from(dn.queries.labels);
    const rows = tf.mul(tf.gather(m.labelEnc.weight, tf.tensor1d(labels.map((l) => Math.max(l, 0)), 'int32')), tf.tensor2d(labels.map((l) => [l >= 0 ? 1 : 0])));
    const dnContent = tf.reshape(rows, [B, dn.queries.padSize, 16]) as tf.Tensor3D;
    const matchContent = tf.tile(tf.expandDims(det.content!, 0), [B, 1, 1]) as tf.Tensor3D;
    const anchors = tf.concat([dnAnchors, tf.sigmoid(det.anchors)], 1) as tf.Tensor3D;
    const content = tf.concat([dnContent, matchContent], 1) as tf.Tensor3D;
    const memory = { memory: enc.memory, shapes: enc.shapes, validRatios: enc.validRatios, keepMask: enc.mask };
    const joint = m.transformer.decoder.forward(content, anchors, memory, m.bboxEmbed, { lookForwardTwice: true });
    const leaked = tf.slice(joint.hs[1]!, [0, dn.queries.padSize, 0], [B, 6, 16]);
    const matchingAlone = m.transformer.decoder.forward(matchContent, tf.sigmoid(det.anchors) as tf.Tensor3D, memory, m.bboxEmbed, { lookForwardTwice: true });
    const leak = maxAbsDiff(leaked.dataSync(), matchingAlone.hs[1]!.dataSync());
    // Same inputs as the model's pass: with the layout, the joint decoder reproduces its denoising outputs.
    const laidOut = m.transformer.decoder.forward(content, anchors, { ...memory, layout: dn.queries.layout }, m.bboxEmbed, { lookForwardTwice: true });
    const dnLogits = m.classEmbed[1]!.forward(tf.slice(laidOut.hs[1]!, [0, 0, 0], [B, dn.queries.padSize, 16]));
    t.true(maxAbsDiff(dnLogits.dataSync(), dn.output.logits[1]!.dataSync()) < 1e-5, 'the test rebuilds the denoising inputs wrongly');
    t.true(leak > 1e-3, `without the layout the matching queries should see the denoising ones (max diff ${leak})`);
    // Denoising group 0 decoded alone (without the matching queries) differs from its output in the pass: it did see them.
    const g0 = dn.queries.groupSize;
    const aloneOut = m.transformer.decoder.forward(
      tf.slice(dnContent, [0, 0, 0], [B, g0, 16]) as tf.Tensor3D, tf.slice(dnAnchors, [0, 0, 0], [B, g0, 4]) as tf.Tensor3D, memory, m.bboxEmbed, { lookForwardTwice: true },
    );
    // Logits (the box heads' last layers start at zero, so boxes are still the anchors), image 0's real queries.
    const real = Array.from(dn.queries.labels.subarray(0, g0)).map((l, i) => (l >= 0 ? i : -1)).filter((i) => i >= 0);
    const pick = (x: tf.Tensor) => real.flatMap((i) => Array.from(tf.slice(x, [0, i, 0], [1, 1, 3]).dataSync()));
    const inLayout = tf.slice(dn.output.logits[1]!, [0, 0, 0], [1, g0, 3]);
    const alone = m.classEmbed[1]!.forward(tf.slice(aloneOut.hs[1]!, [0, 0, 0], [1, g0, 16]));
    t.true(maxAbsDiff(pick(inLayout), pick(alone)) > 1e-4, 'a denoising group should see the matching queries');
  });
  disposeBatch(batch);
  m.dispose();
});

/** Float64 masked multi-head attention on host arrays: q, k, v `[B,N,H*dh]` as nested arrays. */
function bruteForce(q: number[][][], k: number[][][], v: number[][][], heads: number, mask: Float32Array): number[][][] {
  const [B, N, D] = [q.length, q[0]!.length, q[0]![0]!.length];
  const dh = D / heads;
  return Array.from({ length: B }, (_, b) =>
    Array.from({ length: N }, (_, i) => {
      const out = new Array<number>(D).fill(0);
      for (let h = 0; h < heads; h++) {
        const s = Array.from({ length: N }, (_, j) => {
          let dot = 0;
          for (let c = 0; c < dh; c++) dot += q[b]![i]![h * dh + c]! * k[b]![j]![h * dh + c]!;
          return dot / Math.sqrt(dh) + (mask[i * N + j] === 0 ? 0 : -Infinity);
        });
        const mx = Math.max(...s);
        const e = s.map((x) => Math.exp(x - mx));
        const z = e.reduce((a, x) => a + x, 0);
        for (let j = 0; j < N; j++) for (let c = 0; c < dh; c++) out[h * dh + c]! += (e[j]! / z) * v[b]![j]![h * dh + c]!;
      }
      return out;
    }),
  );
}

test('layout attention equals a float64 brute force and the dense-mask attention, values and gradients; block-diagonal layouts take the blocks path', (t) => {
  // Two denoising groups of 3, 4 matching queries, then two isolated plugin groups (2 and 3).
  const layout: AttentionLayout = composeLayout({ sizes: [3, 3, 4], visible: [[0, 2], [1, 2], [2]] }, 4, [2, 3]);
  t.deepEqual(layout.visible, [[0, 2], [1, 2], [2], [3], [4]]);
  const N = 15;
  const [q, k, v] = [1, 2, 3].map((s) => tf.randomNormal([2, N, 8], 0, 1, 'float32', s) as tf.Tensor3D) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  const got = multiHeadAttention(q, k, v, 2, { layout });
  const want = bruteForce(q.arraySync(), k.arraySync(), v.arraySync(), 2, layoutMaskValues(layout));
  t.true(maxAbsDiff(got.dataSync(), want.flat(2)) < 1e-5);
  const dense = multiHeadAttention(q, k, v, 2, { attnMask: layoutMask(layout) });
  t.true(maxAbsDiff(got.dataSync(), dense.dataSync()) < 1e-5);
  // Gradients with respect to q, k, v: same through the layout and through the dense mask.
  const w = tf.randomNormal([2, N, 8], 0, 1, 'float32', 4);
  const grads = (opts: Parameters<typeof multiHeadAttention>[4]) => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(multiHeadAttention(a, b, c, 2, opts), w)))([q, k, v]);
  const gl = grads({ layout });
  const gd = grads({ attnMask: layoutMask(layout) });
  gl.forEach((g, i) => t.true(maxAbsDiff(g.dataSync(), gd[i]!.dataSync()) < 1e-5, `gradient ${i}`));
  // Joint blocks separated by an isolated one (two runs attended together): against float64 too.
  const split: AttentionLayout = { sizes: [2, 3, 2, 8], visible: [[0, 2], [1], [2], [3]] };
  const got2 = multiHeadAttention(q, k, v, 2, { layout: split });
  t.true(maxAbsDiff(got2.dataSync(), bruteForce(q.arraySync(), k.arraySync(), v.arraySync(), 2, layoutMaskValues(split)).flat(2)) < 1e-5);
  // A block-diagonal layout is exactly the blocks path.
  const blockDiag = multiHeadAttention(q, k, v, 2, { layout: { sizes: [10, 5] } });
  t.deepEqual(Array.from(blockDiag.dataSync()), Array.from(multiHeadAttention(q, k, v, 2, { blocks: [10, 5] }).dataSync()));
  t.is(layoutMaskValues({ sizes: [1, 1], visible: [[0, 1], [1]] })[2], MASKED, 'the second block does not see the first');
});
