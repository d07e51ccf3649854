import type { BoxCoder } from './box-coder.js';
import { pairwiseIou } from './iou.js';
import { matchByIou, type IouMatchOptions } from './matcher.js';
import { sampleBalanced, type Uniform } from './sampler.js';

/**
 * Training targets of one image, on the host: match boxes (anchors or proposals) to the
 * ground truth, sample a balanced subset, encode regression targets for the positives.
 * Pure functions of host arrays; the model turns them into constant mask tensors.
 */
export interface SampledTargets {
  /** Per box: 1 sampled positive, 0 sampled negative, -1 not sampled (no loss). */
  labels: Int8Array;
  /** Per box: index of the matched ground-truth box, or -1 (negative / not sampled). */
  gtIndex: Int32Array;
  /** `[N*4]` deltas of the matched gt (zeros where not positive). */
  regression: Float64Array;
  numPositive: number;
  numNegative: number;
}

export interface SampleOptions extends IouMatchOptions {
  /** Boxes sampled per image (RPN: 256; box head: 512). */
  batchSize: number;
  /** Largest positive share (RPN: 0.5; box head: 0.25). */
  positiveFraction: number;
}

/** `boxes` `[N*4]` and `gt` `[M*4]` xyxy, same units. */
export function sampleTargets(boxes: ArrayLike<number>, gt: ArrayLike<number>, o: SampleOptions, coder: BoxCoder, rand: Uniform): SampledTargets {
  const n = boxes.length / 4;
  const m = gt.length / 4;
  const matches = matchByIou(pairwiseIou(boxes, gt), n, m, o);
  const { positive, negative } = sampleBalanced(matches, o.batchSize, o.positiveFraction, rand);
  const labels = new Int8Array(n).fill(-1);
  const gtIndex = new Int32Array(n).fill(-1);
  const regression = new Float64Array(4 * n);
  for (const i of negative) labels[i] = 0;
  const ref = new Float64Array(4 * positive.length);
  const tgt = new Float64Array(4 * positive.length);
  positive.forEach((i, k) => {
    labels[i] = 1;
    gtIndex[i] = matches[i]!;
    for (let c = 0; c < 4; c++) {
      ref[4 * k + c] = boxes[4 * i + c]!;
      tgt[4 * k + c] = gt[4 * matches[i]! + c]!;
    }
  });
  const deltas = coder.encode(ref, tgt);
  positive.forEach((i, k) => regression.set(deltas.subarray(4 * k, 4 * k + 4), 4 * i));
  return { labels, gtIndex, regression, numPositive: positive.length, numNegative: negative.length };
}
