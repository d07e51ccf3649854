// The query-group contract tests (README), one suite for every detector that implements it:
// each test/query-groups*.test.ts calls `queryGroupContractSuite` with its own tiny model.
import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTfjsGradients } from '@detkit/core';
import { groupSize, isQueryGroupDetector, type DecodeOutput, type Encoded, type QueryGroup, type QueryGroupDetector } from '../src/detectors.js';
import { maxAbsDiff } from '@detkit/core/testing';
import { disposeBatch, tinyBatch } from './detr-helpers.js';

/** A query-group detector as the tiny models of detr-helpers.ts (6 detection queries, d = 16). */
export type AnchorQueryDetector = QueryGroupDetector;

export interface QueryGroupContractCase<M extends AnchorQueryDetector> {
  /** The detector's registered name, for the test titles. */
  name: string;
  makeModel: () => M;
  /**
   * Per-layer hidden states of `content`/`anchors` decoded jointly WITHOUT self-attention
   * blocks: what the isolation test compares against, to show that it can fail.
   */
  decodeWithoutBlocks: (m: M, enc: Encoded, content: tf.Tensor3D, anchors: tf.Tensor3D) => tf.Tensor3D[];
  /** Parameters a group's outputs must send gradient to. */
  gradientReaches: readonly string[];
  /** Parameters a group's outputs must send no gradient to, each with the failure message. */
  gradientMisses?: ReadonlyArray<readonly [name: string, why: string]>;
  /** The first input projection's weight (its gradient must be nonzero). */
  inputProjWeight: (m: M) => tf.Variable;
  /** The learned detection anchors (must get no gradient from a group's outputs); default `refpointEmbed.weight`, none for selected queries (DINO). */
  detectionAnchorParam?: (m: M) => tf.Variable | undefined;
}

/** The detector's detection queries for this encoding (static ones ignore it). */
const detectionOf = (m: AnchorQueryDetector, enc: Encoded): QueryGroup => m.detectionQueries(enc);

/** A group as the decoder's `[b,M,...]` inputs: sigmoid anchors and content (zeros when absent). */
function batchedQueries(g: QueryGroup, b: number, d: number): { anchors: tf.Tensor3D; content: tf.Tensor3D } {
  const tile = (x: tf.Tensor) => (x.rank === 2 ? tf.tile(tf.expandDims(x, 0), [b, 1, 1]) : x) as tf.Tensor3D;
  const m = groupSize(g);
  return { anchors: tf.sigmoid(tile(g.anchors)) as tf.Tensor3D, content: g.content ? tile(g.content) : (tf.zeros([b, m, d]) as tf.Tensor3D) };
}

const read = (o: DecodeOutput) => [...o.logits, ...o.boxes].map((t) => Array.from(t.dataSync()));
const diff = (a: number[][], b: number[][]) => Math.max(...a.map((x, i) => maxAbsDiff(x, b[i]!)));

function groups(): { A: QueryGroup; B: QueryGroup } {
  return {
    A: { anchors: tf.randomNormal([5, 4], 0, 1, 'float32', 7) as tf.Tensor2D },
    B: { anchors: tf.randomNormal([4, 4], 0, 1, 'float32', 8) as tf.Tensor2D, content: tf.randomNormal([4, 16], 0, 1, 'float32', 9) as tf.Tensor2D },
  };
}

export function queryGroupContractSuite<M extends AnchorQueryDetector>(c: QueryGroupContractCase<M>): void {
  test.before(async () => {
    await tf.setBackend('cpu');
    await registerTfjsGradients();
  });

  test(`${c.name} implements the query-group contract; detr-style objects without it are rejected`, (t) => {
    const m = c.makeModel();
    t.true(isQueryGroupDetector(m));
    t.false(isQueryGroupDetector({ forwardTrain() {}, predict() {} }));
    const batch = tinyBatch();
    tf.tidy(() => {
      const det = detectionOf(m, m.encode(batch.images, batch.masks));
      t.is(groupSize(det), 6);
      t.is(m.numQueries, 6);
      t.true(det.anchors.rank === 2 || det.anchors.shape[0] === 2);
    });
    t.is(m.boxFormat, 'cxcywh-normalized');
    disposeBatch(batch);
    m.dispose();
  });

  test(`${c.name}: extra groups leave detection outputs unchanged (1e-5), a group does not depend on the others; without blocks they would`, (t) => {
    const m = c.makeModel();
    m.eval();
    const batch = tinyBatch();
    tf.tidy(() => {
      const { A, B } = groups();
      const enc = m.encode(batch.images, batch.masks);
      const alone = m.decode(enc, []);
      const withAB = m.decode(enc, [A, B]);
      const onlyA = m.decode(enc, [A], { detection: false });
      const withB = m.decode(enc, [B, A]);
      t.is(alone.detection.logits.length, 2);
      t.deepEqual(withAB.groups[0]!.logits[1]!.shape, [2, 5, 3]);
      t.deepEqual(withAB.groups[1]!.boxes[0]!.shape, [2, 4, 4]);
      t.true(diff(read(alone.detection), read(withAB.detection)) < 1e-5, 'detection changed by extra groups');
      t.true(diff(read(withAB.groups[0]!), read(onlyA.groups[0]!)) < 1e-5, 'group A depends on detection queries / B');
      t.true(diff(read(withAB.groups[0]!), read(withB.groups[1]!)) < 1e-5, 'group A depends on group order');
      // The test can fail: the same joint pass without self-attention blocks changes the detection queries.
      const b = 2;
      const det = batchedQueries(detectionOf(m, enc), b, 16);
      const other = batchedQueries(B, b, 16);
      const anchors = tf.concat([det.anchors, other.anchors], 1) as tf.Tensor3D;
      const content = tf.concat([det.content, other.content], 1) as tf.Tensor3D;
      const unblocked = c.decodeWithoutBlocks(m, enc, content, anchors);
      const leaked = tf.slice(unblocked[1]!, [0, 0, 0], [b, 6, 16]);
      const clean = c.decodeWithoutBlocks(m, enc, det.content, det.anchors);
      const leak = maxAbsDiff(leaked.dataSync(), clean[1]!.dataSync());
      t.true(leak > 1e-3, `unblocked joint decoding should differ (max diff ${leak})`);
    });
    disposeBatch(batch);
    m.dispose();
  });

  test(`${c.name}: a group with the detection anchors reproduces the detection outputs (isolation is exact)`, (t) => {
    const m = c.makeModel();
    m.eval();
    const batch = tinyBatch();
    tf.tidy(() => {
      const enc = m.encode(batch.images, batch.masks);
      const det = detectionOf(m, enc);
      const copy: QueryGroup = { anchors: tf.clone(det.anchors), ...(det.content ? { content: tf.clone(det.content) } : {}) };
      const r = m.decode(enc, [copy]);
      t.true(diff(read(r.detection), read(r.groups[0]!)) < 1e-5);
      // finalLayerOnly returns the same last layer.
      const last = m.decode(enc, [copy], { detection: false, finalLayerOnly: true }).groups[0]!;
      t.is(last.logits.length, 1);
      t.true(maxAbsDiff(last.boxes[0]!.dataSync(), r.groups[0]!.boxes[1]!.dataSync()) < 1e-6);
    });
    disposeBatch(batch);
    m.dispose();
  });

  test(`${c.name}: per-image groups ([B,M,4]) decode as shared ones, and image i's outputs depend only on image i's anchors`, (t) => {
    const m = c.makeModel();
    m.eval();
    const batch = tinyBatch();
    tf.tidy(() => {
      const { A } = groups();
      const enc = m.encode(batch.images, batch.masks);
      const shared = m.decode(enc, [A], { detection: false }).groups[0]!;
      const tiled = m.decode(enc, [{ anchors: tf.tile(tf.expandDims(A.anchors, 0), [2, 1, 1]) as tf.Tensor3D }], { detection: false }).groups[0]!;
      t.true(diff(read(shared), read(tiled)) < 1e-5, 'per-image copies of a shared group decode differently');
      // Image 1 gets other anchors: image 0's outputs stay, image 1's change.
      const other = tf.add(A.anchors, 0.7) as tf.Tensor2D;
      const mixed = m.decode(enc, [{ anchors: tf.stack([A.anchors, other]) as tf.Tensor3D }, A], { detection: true }).groups[0]!;
      const image = (x: tf.Tensor3D, i: number) => Array.from(tf.slice(x, [i, 0, 0], [1, -1, -1]).dataSync());
      const last = shared.boxes.length - 1;
      t.true(maxAbsDiff(image(mixed.boxes[last]!, 0), image(shared.boxes[last]!, 0)) < 1e-5);
      t.true(maxAbsDiff(image(mixed.logits[last]!, 0), image(shared.logits[last]!, 0)) < 1e-5);
      t.true(maxAbsDiff(image(mixed.boxes[last]!, 1), image(shared.boxes[last]!, 1)) > 1e-3, 'image 1 ignored its own anchors');
    });
    disposeBatch(batch);
    m.dispose();
  });

  test(`${c.name}: gradients flow from group outputs into the student parameters; extra groups add nothing to L_det`, (t) => {
    const m = c.makeModel();
    const batch = tinyBatch();
    const names = new Map(m.trainableParameters().map(([n, v]) => [v.name, n]));
    tf.tidy(() => {
      const { A } = groups();
      const { grads } = tf.variableGrads(() => {
        const enc = m.encode(batch.images, batch.masks);
        const g = m.decode(enc, [A], { detection: false }).groups[0]!;
        return tf.add(tf.sum(g.logits[1]!), tf.sum(g.boxes[1]!)) as tf.Scalar;
      }, m.trainableParameters().map(([, v]) => v));
      const got = new Set(Object.keys(grads).map((k) => names.get(k)));
      for (const n of c.gradientReaches) t.true(got.has(n), `no gradient for ${n}`);
      for (const [n, why] of c.gradientMisses ?? []) t.false(got.has(n), why);
      const nonzero = tf.sum(tf.abs(grads[c.inputProjWeight(m).name]!)).dataSync()[0]!;
      t.true(nonzero > 0);
      // Learned detection anchors get no gradient from a group's outputs.
      const anchorParam = c.detectionAnchorParam ? c.detectionAnchorParam(m) : (m as unknown as { refpointEmbed: { weight: tf.Variable } }).refpointEmbed.weight;
      const ref = anchorParam && grads[anchorParam.name];
      t.true(ref === undefined || tf.sum(tf.abs(ref)).dataSync()[0] === 0);
    });
    // L_det is identical with and without groups (groups are never matched to ground truth).
    m.eval();
    const lossesOf = (gs: QueryGroup[]) =>
      tf.tidy(() => {
        const r = m.forwardTrain(batch, { groups: gs });
        t.is(r.outputs.groups.length, gs.length);
        return Object.fromEntries(Object.entries(r.losses).map(([k, v]) => [k, v.dataSync()[0]!]));
      });
    const plain = lossesOf([]);
    const extra = tf.tidy(() => lossesOf(Object.values(groups())));
    t.deepEqual(Object.keys(extra).sort(), Object.keys(plain).sort());
    for (const k of Object.keys(plain)) t.true(Math.abs(plain[k]! - extra[k]!) < 1e-5, `${k}: ${plain[k]} vs ${extra[k]}`);
    t.true('loss_ce_0' in plain && 'loss_giou' in plain);
    disposeBatch(batch);
    m.dispose();
  });
}
