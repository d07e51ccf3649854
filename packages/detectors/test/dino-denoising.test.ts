// DINO's contrastive denoising queries against a hand-worked example: 2 images (1 and 2 boxes),
// budget 4 -> 2 groups of 2 x 2 queries, a scripted noise source so every draw is known.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTfjsGradients, type Batch, type BatchTarget } from '@detkit/core';
import { layoutMaskValues, makeDenoisingQueries, MASKED, type DinoTrainOutputs, type UniformSource } from '../src/detectors.js';
import { disposeBatch, tinyDino } from './detr-helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await registerTfjsGradients();
});

const TARGETS = [
  { boxes: Float32Array.from([0.5, 0.5, 0.2, 0.4]), labels: Int32Array.from([2]) },
  { boxes: Float32Array.from([0.3, 0.6, 0.2, 0.2, 0.7, 0.3, 0.4, 0.2]), labels: Int32Array.from([0, 1]) },
];

/**
 * The draws of the example, copy by copy in the documented order (group, polarity, image, box):
 * label draw 0.9 (kept) except group 1's negative of image 1 box 0 (0.1 < 0.25: redrawn, 0.99 ->
 * class 2); per edge a sign draw (x1, y1: 0.2 -> minus; x2, y2: 0.8 -> plus) and a magnitude r
 * (positives 0.5, negatives 0.25 -> 1.25), except group 1's negative of image 1 box 1, whose x2
 * draws 0.9 -> 1.9, pushing x2 past 1 (clamped).
 */
function scriptedDraws(): number[] {
  const draws: number[] = [];
  for (let g = 0; g < 2; g++) {
    for (const negative of [false, true]) {
      for (const [b, k] of [[0, 0], [1, 0], [1, 1]] as const) {
        draws.push(...(g === 1 && negative && b === 1 && k === 0 ? [0.1, 0.99] : [0.9]));
        for (let e = 0; e < 4; e++) {
          const clampCase = g === 1 && negative && b === 1 && k === 1 && e === 2;
          draws.push(e < 2 ? 0.2 : 0.8, clampCase ? 0.9 : negative ? 0.25 : 0.5);
        }
      }
    }
  }
  return draws;
}

function source(draws: number[]): UniformSource & { left: () => number } {
  let i = 0;
  const r = (() => {
    if (i >= draws.length) throw new Error('the noise source ran out: more draws than the documented order');
    return draws[i++]!;
  }) as UniformSource & { left: () => number };
  r.left = () => draws.length - i;
  return r;
}

const OPTS = { budget: 4, labelNoise: 0.5, boxNoise: 0.4, numClasses: 3 };
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => a.length === b.length && Array.from(a).every((x, i) => Math.abs(x - b[i]!) <= tol);
const logit = (p: number) => Math.log(p / (1 - p));

test('denoising queries match the hand-worked example: groups, labels, noised boxes (with a clamp), anchors, fixed matching', (t) => {
  const random = source(scriptedDraws());
  const dn = makeDenoisingQueries(TARGETS, 3, OPTS, random)!;
  t.is(random.left(), 0, 'every scripted draw used');
  t.is(dn.groups, 2);
  t.is(dn.groupSize, 4);
  t.is(dn.padSize, 8);
  // Per group: positive slots 0-1, negative slots 2-3; image 0 has one box, so its slots 1 and 3 are padding.
  t.deepEqual(Array.from(dn.labels), [2, -1, 2, -1, 2, -1, 2, -1, 0, 1, 0, 1, 0, 1, 2, 1]);
  // Hand-worked: image 0's box (0.5, 0.5, 0.2, 0.4) has corners (0.4, 0.3, 0.6, 0.7) and half sizes
  // (0.1, 0.2); a positive moves x1, y1 by -0.5 * 0.4 * half and x2, y2 by +: corners
  // (0.38, 0.26, 0.62, 0.74) -> (0.5, 0.5, 0.24, 0.48); a negative by 1.25 * 0.4 * half:
  // (0.35, 0.2, 0.65, 0.8) -> (0.5, 0.5, 0.3, 0.6). Image 1 box 0 (half 0.1): (0.3, 0.6, 0.24, 0.24)
  // and (0.3, 0.6, 0.3, 0.3); box 1 (corners 0.5, 0.2, 0.9, 0.4, half 0.2, 0.1): (0.7, 0.3, 0.48,
  // 0.24) and (0.7, 0.3, 0.6, 0.3); in group 1 its negative's x2 moves by 1.9 * 0.4 * 0.2 = 0.152
  // to 1.052, clamped to 1: corners (0.4, 0.15, 1, 0.45) -> (0.7, 0.3, 0.6, 0.3) (unclamped it
  // would be (0.726, 0.3, 0.652, 0.3)).
  const pos0 = [0.5, 0.5, 0.24, 0.48], neg0 = [0.5, 0.5, 0.3, 0.6], pad = [0, 0, 0, 0];
  const img1 = [[0.3, 0.6, 0.24, 0.24], [0.7, 0.3, 0.48, 0.24], [0.3, 0.6, 0.3, 0.3], [0.7, 0.3, 0.6, 0.3]];
  const want = [pos0, pad, neg0, pad, pos0, pad, neg0, pad, ...img1, ...img1].flat();
  t.true(close(dn.boxes, want), `boxes ${Array.from(dn.boxes).map((x) => x.toFixed(3))}`);
  // Anchors: inverse sigmoid (eps 1e-3) of the boxes, 0 for padding.
  t.true(close(dn.anchors.subarray(0, 4), [0, 0, logit(0.24), logit(0.48)], 1e-5));
  t.true(close(dn.anchors.subarray(4, 8), pad));
  t.true(close(dn.anchors.subarray((8 + 7) * 4, (8 + 8) * 4), [logit(0.7), logit(0.3), logit(0.6), logit(0.3)], 1e-5));
  // The loss's fixed matching: positive slot k of every group reconstructs box k.
  t.deepEqual(dn.positives.map((p) => [Array.from(p.queryIdx), Array.from(p.targetIdx)]), [[[0, 4], [0, 0]], [[0, 1, 4, 5], [0, 1, 0, 1]]]);
});

test('the attention layout is the reference attn_mask: matching sees only matching, a denoising group itself and the matching queries', (t) => {
  const dn = makeDenoisingQueries(TARGETS, 3, OPTS, source(scriptedDraws()))!;
  t.deepEqual(dn.layout, { sizes: [4, 4, 3], visible: [[0, 2], [1, 2], [2]] });
  // Row i: 1 where query i may attend column j. Queries 0-3 group 0, 4-7 group 1, 8-10 matching.
  const rows = [
    ...Array.from({ length: 4 }, () => '11110000111'),
    ...Array.from({ length: 4 }, () => '00001111111'),
    ...Array.from({ length: 3 }, () => '00000000111'),
  ];
  const mask = layoutMaskValues(dn.layout);
  const got = rows.map((_, i) => Array.from(mask.subarray(i * 11, (i + 1) * 11), (v) => (v === 0 ? '1' : v === MASKED ? '0' : '?')).join(''));
  t.deepEqual(got, rows);
});

test('the group count follows the largest box count of the batch; no box anywhere means no denoising queries', (t) => {
  const one = [{ boxes: Float32Array.from([0.5, 0.5, 0.2, 0.2]), labels: Int32Array.from([1]) }, { boxes: new Float32Array(0), labels: new Int32Array(0) }];
  const dn = makeDenoisingQueries(one, 5, { ...OPTS, budget: 5, labelNoise: 0, boxNoise: 0 }, () => 0.5)!;
  t.is(dn.groups, 5);
  t.is(dn.padSize, 10);
  // Without noise every positive and negative is the box itself.
  t.true(close(dn.boxes.subarray(0, 4), [0.5, 0.5, 0.2, 0.2]) && close(dn.boxes.subarray(4, 8), [0.5, 0.5, 0.2, 0.2]));
  t.deepEqual(Array.from(dn.labels.subarray(10)), Array(10).fill(-1), 'the empty image has only padding');
  t.is(makeDenoisingQueries([{ boxes: new Float32Array(0), labels: new Int32Array(0) }], 5, OPTS, () => 0.5), undefined);
});

function exampleBatch(): Batch {
  const targets: BatchTarget[] = TARGETS.map((x, i) => ({ ...x, imageId: i, height: 16, width: 16, origHeight: 16, origWidth: 16 }));
  return { images: tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D, masks: tf.ones([2, 16, 16]) as tf.Tensor3D, targets };
}

test('the model draws its noise from the injected source and decodes the example queries; dn terms per layer; none in eval mode', (t) => {
  const random = source(scriptedDraws());
  const m = tinyDino({ denoisingRandom: random });
  const batch = exampleBatch();
  tf.tidy(() => {
    const r = m.forwardTrain(batch);
    const dn = (r.outputs as DinoTrainOutputs).denoising!;
    t.is(random.left(), 0);
    t.deepEqual(Array.from(dn.queries.labels), [2, -1, 2, -1, 2, -1, 2, -1, 0, 1, 0, 1, 0, 1, 2, 1]);
    t.deepEqual(dn.output.logits[1]!.shape, [2, 8, 3]);
    t.deepEqual(dn.output.boxes[0]!.shape, [2, 8, 4]);
    for (const k of ['loss_ce_dn', 'loss_bbox_dn', 'loss_giou_dn', 'loss_ce_dn_0', 'loss_giou_dn_0', 'loss_ce_interm', 'loss_bbox_interm', 'loss_ce', 'loss_ce_0']) t.true(k in r.losses, k);
    // Layer 0's box head is zero at init: a denoising query's first box is its own anchor (the noised box).
    t.true(close(dn.output.boxes[0]!.dataSync().subarray(0, 4), [0.5, 0.5, 0.24, 0.48], 1e-5));
    m.eval();
    const e = m.forwardTrain(batch);
    t.is((e.outputs as DinoTrainOutputs).denoising, undefined);
    t.false(Object.keys(e.losses).some((k) => k.includes('_dn')));
  });
  disposeBatch(batch);
  m.dispose();
});

test('a batch without boxes trains with zero denoising terms (the term set never changes)', (t) => {
  const m = tinyDino();
  const batch = exampleBatch();
  const empty: Batch = { ...batch, targets: batch.targets.map((x) => ({ ...x, boxes: new Float32Array(0), labels: new Int32Array(0) })) };
  tf.tidy(() => {
    const r = m.forwardTrain(empty);
    t.is((r.outputs as DinoTrainOutputs).denoising, undefined);
    for (const k of ['loss_ce_dn', 'loss_bbox_dn', 'loss_giou_dn_0']) t.is(r.losses[k]!.dataSync()[0], 0, k);
    t.true(Number.isFinite(tf.addN(Object.values(r.losses)).dataSync()[0]!));
  });
  disposeBatch(batch);
  m.dispose();
});
