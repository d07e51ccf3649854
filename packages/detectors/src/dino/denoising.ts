import { DetkitError } from '@detkit/core';
import type { AttentionLayout } from '../contract/attention-layout.js';
import { INVERSE_SIGMOID_EPS } from '../box/boxOps.js';
import type { MatchIndices, MatchTarget } from '../matcher/hungarianMatcher.js';

/** A uniform [0, 1) source (injectable, so that the noise of a test is known). */
export type UniformSource = () => number;

export interface DenoisingOptions {
  /** Query budget: groups = floor(budget / largest box count of the batch), at least 1. */
  budget: number;
  /** Label noise ratio: a label is replaced by a uniformly drawn class with probability ratio / 2. */
  labelNoise: number;
  /** Box noise scale: each edge moves by up to scale x half the box size (positives), between 1x and 2x that (negatives). */
  boxNoise: number;
  numClasses: number;
}

/**
 * DINO's contrastive denoising queries for one batch (the reference's `prepare_for_cdn`), on the
 * host. With m the largest box count of any image, there are G = max(1, floor(budget / m))
 * groups of 2m queries each: m positives (slot k = box k of the image, a noised copy inside the
 * box's noise range) then m negatives (a copy noised further: the "no object" samples); slots
 * past an image's box count are padding (no label, pre-sigmoid box 0). Every image has the same
 * pad = 2mG queries.
 */
export interface DenoisingQueries {
  groups: number;
  /** 2m: m positive then m negative slots. */
  groupSize: number;
  /** groups x groupSize queries per image. */
  padSize: number;
  /** `[B,pad]` the (noised) class of each query, -1 for padding. */
  labels: Int32Array;
  /** `[B,pad,4]` the noised boxes, sigmoid normalised cxcywh (padding: zeros). */
  boxes: Float32Array;
  /** `[B,pad,4]` the decoder's anchors: inverse sigmoid (eps 1e-3) of `boxes`; padding 0. */
  anchors: Float32Array;
  /** Per image, the fixed matching of the loss: positive query `queryIdx[k]` reconstructs box `targetIdx[k]` (group-major). */
  positives: MatchIndices[];
  /**
   * Self-attention over [group 0, ..., group G-1, matching queries]: the matching queries see
   * only themselves; group g sees itself and the matching queries, never another group
   * (the reference's attn_mask).
   */
  layout: AttentionLayout;
}

/** `denoisingLayout(G, size, Q)`: the attention layout of G denoising groups of `size` queries before Q matching queries. */
export function denoisingLayout(groups: number, groupSize: number, numQueries: number): AttentionLayout {
  const sizes = [...Array.from({ length: groups }, () => groupSize), numQueries];
  const visible = [...Array.from({ length: groups }, (_, g) => [g, groups]), [groups]];
  return { sizes, visible };
}

function inverseSigmoid(x: number): number {
  const c = Math.min(1, Math.max(0, x));
  return Math.log(Math.max(c, INVERSE_SIGMOID_EPS) / Math.max(1 - c, INVERSE_SIGMOID_EPS));
}

/**
 * Builds the denoising queries of a batch, or undefined when no image has a box (the
 * reference then has no denoising part either). `numQueries` (the matching queries) only
 * enters the layout.
 *
 * Random draws, in this order, from `random`: for each group, each polarity (positive, then
 * negative), each image and each of its boxes: one draw p for the label (if labelNoise > 0;
 * p < labelNoise / 2 replaces the label with floor(u * numClasses) from one more draw u),
 * then (if boxNoise > 0) for x1, y1, x2, y2 in turn a sign draw (< 0.5: minus) and a magnitude
 * draw r (negatives: r + 1). Edge e moves by sign * r * boxNoise * (w or h) / 2; the noised
 * corners are clamped to [0, 1] and turned back into cxcywh, as in the reference.
 */
export function makeDenoisingQueries(targets: readonly MatchTarget[], numQueries: number, opts: DenoisingOptions, random: UniformSource): DenoisingQueries | undefined {
  const { budget, labelNoise, boxNoise, numClasses } = opts;
  if (!(Number.isInteger(budget) && budget >= 1)) throw new DetkitError('INVALID_ARGUMENT', `denoising: budget must be a positive integer, got ${budget}`);
  const counts = targets.map((t) => t.labels.length);
  const m = Math.max(0, ...counts);
  if (m === 0) return undefined;
  const groups = Math.max(1, Math.floor(budget / m));
  const groupSize = 2 * m;
  const pad = groups * groupSize;
  const B = targets.length;
  const labels = new Int32Array(B * pad).fill(-1);
  const boxes = new Float32Array(B * pad * 4);
  const anchors = new Float32Array(B * pad * 4);
  for (let g = 0; g < groups; g++) {
    for (const negative of [false, true]) {
      targets.forEach((t, b) => {
        for (let k = 0; k < t.labels.length; k++) {
          const slot = g * groupSize + (negative ? m : 0) + k;
          let label = t.labels[k]!;
          if (labelNoise > 0 && random() < labelNoise * 0.5) label = Math.min(numClasses - 1, Math.floor(random() * numClasses));
          labels[b * pad + slot] = label;
          const [cx, cy, w, h] = [t.boxes[4 * k]!, t.boxes[4 * k + 1]!, t.boxes[4 * k + 2]!, t.boxes[4 * k + 3]!];
          let corners = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
          if (boxNoise > 0) {
            const half = [w / 2, h / 2, w / 2, h / 2];
            corners = corners.map((c, e) => {
              const sign = random() < 0.5 ? -1 : 1;
              const r = random() + (negative ? 1 : 0);
              return Math.min(1, Math.max(0, c + sign * r * half[e]! * boxNoise));
            });
          }
          const box = [(corners[0]! + corners[2]!) / 2, (corners[1]! + corners[3]!) / 2, corners[2]! - corners[0]!, corners[3]! - corners[1]!];
          const at = (b * pad + slot) * 4;
          for (let e = 0; e < 4; e++) {
            boxes[at + e] = box[e]!;
            anchors[at + e] = inverseSigmoid(box[e]!);
          }
        }
      });
    }
  }
  const positives = counts.map((n): MatchIndices => {
    const queryIdx = new Int32Array(groups * n);
    const targetIdx = new Int32Array(groups * n);
    for (let g = 0; g < groups; g++) {
      for (let k = 0; k < n; k++) {
        queryIdx[g * n + k] = g * groupSize + k;
        targetIdx[g * n + k] = k;
      }
    }
    return { queryIdx, targetIdx };
  });
  return { groups, groupSize, padSize: pad, labels, boxes, anchors, positives, layout: denoisingLayout(groups, groupSize, numQueries) };
}
