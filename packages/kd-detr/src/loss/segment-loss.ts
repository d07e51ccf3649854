import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '@detkit/core';
import { pairGiouCxcywh } from '@detkit/detectors';
import { detach } from '../util/detach.js';
import { foregroundWeights } from './foreground-weights.js';
import { klDivWithTemperature } from './kl-div.js';
import type { PointLoss, PointOutputs, ResolvedKdLossOptions } from './kd-loss.js';

/** One set of points whose terms are reduced on their own: the student's outputs and the teacher's there. */
export interface KdSegment {
  teacher: PointOutputs;
  student: PointOutputs;
  /**
   * Images the points come from, for the `batch` KL normaliser. Default: the tensors' first
   * dimension; set it when points of several images are packed into one row (matched pairs).
   */
  batchSize?: number;
  /**
   * Data-parallel training: the segment's normalisers summed over every rank's share of the
   * global batch (`kdGlobalSums`). Each term then divides by `global / worldSize`, so the ranks'
   * averaged gradient is the global batch's. Absent: this batch's own figures.
   */
  global?: KdGlobalSums;
  /**
   * The L1 term's operands where they are not the boxes themselves (`[B,M,4]` each, teacher
   * side detached here): heterogeneous KD compares the boxes as deltas relative to the point
   * (`roiDeltas`). GIoU and the foreground weights still use `teacher` and `student`.
   */
  l1?: { teacher: tf.Tensor3D; student: tf.Tensor3D };
  /**
   * `[B,M]` constants multiplying the points' foreground weights (0 drops a point from every
   * term and from the normalisers): heterogeneous KD keeps only the points a RoI head can reach.
   */
  pointMask?: tf.Tensor2D;
}

/** A segment's normalisers over the global batch (every rank's points). */
export interface KdGlobalSums {
  worldSize: number;
  /** Sum of the foreground weights w_i (L1, GIoU and the 'weights' KL normaliser). */
  weightSum: number;
  /** Images the segments' points come from, summed ('batch' KL normaliser). */
  batch: number;
  /** Points, summed ('points' KL normaliser). */
  points: number;
}

const TERMS = ['cls', 'l1', 'giou'] as const;

function checkSegment({ teacher, student, l1, pointMask }: KdSegment): number {
  const [b, m] = student.logits.shape;
  if (teacher.logits.shape.join() !== student.logits.shape.join() || teacher.boxes.shape.join() !== student.boxes.shape.join()) {
    throw new DetkitError(
      'MODEL_CONTRACT',
      `kd-detr loss: teacher outputs (logits [${teacher.logits.shape}], boxes [${teacher.boxes.shape}]) and student outputs ` +
        `(logits [${student.logits.shape}], boxes [${student.boxes.shape}]) differ in shape`,
    );
  }
  if (l1 && (l1.teacher.shape.join() !== teacher.boxes.shape.join() || l1.student.shape.join() !== student.boxes.shape.join())) {
    throw new DetkitError('MODEL_CONTRACT', `kd-detr loss: the L1 operands (teacher [${l1.teacher.shape}], student [${l1.student.shape}]) must have the boxes' shape [${student.boxes.shape}]`);
  }
  if (pointMask && pointMask.shape.join() !== [b, m].join()) {
    throw new DetkitError('MODEL_CONTRACT', `kd-detr loss: the point mask [${pointMask.shape}] must be [${b},${m}]`);
  }
  if (b * m === 0) throw new DetkitError('INVALID_ARGUMENT', 'kd-detr loss: no distillation points (a sampler produced 0 points?)');
  return b * m;
}

/**
 * The KD loss (`kdPointLoss`'s formula) of many segments at once (every decoder layer of every
 * query group): the points of all segments are concatenated, the per-point KL / L1 / GIoU and
 * weights are computed in one pass, and the per-segment sums come from one product with a 0/1
 * segment matrix. Same values as reducing each segment on its own (to float rounding), with ~1/S
 * of the kernel launches, forward and backward: one pass per segment was ~2,600 kernels per step.
 *
 * A teacher tensor shared by several segments (the final layer supervising every student layer)
 * is concatenated once per use; the teacher side is detached.
 */
export function kdSegmentLosses(segments: readonly KdSegment[], options: ResolvedKdLossOptions): PointLoss[] {
  if (segments.length === 0) return [];
  const sizes = segments.map(checkSegment);
  const c = segments[0]!.student.logits.shape[2];
  for (const s of segments) {
    if (s.student.logits.shape[2] !== c) throw new DetkitError('MODEL_CONTRACT', `kd-detr loss: segments differ in class count (${s.student.logits.shape[2]} vs ${c})`);
  }
  const { weights: lambda, temperature } = options;
  const active = TERMS.filter((t) => lambda[t] > 0);
  if (active.length === 0) return segments.map(() => ({}));
  const total = sizes.reduce((a, v) => a + v, 0);
  const flat = (t: tf.Tensor, n: number, d: number) => tf.reshape(t, [n, d]);
  const cat = (ts: tf.Tensor[]) => (ts.length === 1 ? ts[0]! : tf.concat(ts, 0));
  // Each scalar is returned from one tidy via unstack (not tf.keep'd, which would escape the caller's tidy too).
  const scalars = tf.tidy(() => {
    const tl = detach(cat(segments.map((s, i) => flat(s.teacher.logits, sizes[i]!, c))));
    const tb = detach(cat(segments.map((s, i) => flat(s.teacher.boxes, sizes[i]!, 4))));
    const sl = cat(segments.map((s, i) => flat(s.student.logits, sizes[i]!, c)));
    const sb = cat(segments.map((s, i) => flat(s.student.boxes, sizes[i]!, 4)));
    const fg = options.foregroundWeighting ? foregroundWeights(tl) : tf.ones([total]);
    const masked = segments.some((s) => s.pointMask);
    const w = masked ? tf.mul(fg, cat(segments.map((s, i) => (s.pointMask ? tf.reshape(detach(s.pointMask), [sizes[i]!]) : tf.ones([sizes[i]!]))))) : fg;
    // Per-point columns [w*KL, w*L1, w*(1-GIoU)] (active terms only) and w itself, last.
    const cols: tf.Tensor[] = [];
    if (lambda.cls > 0) cols.push(tf.mul(w, klDivWithTemperature(tl, sl, temperature)));
    if (lambda.l1 > 0) {
      const tl1 = detach(cat(segments.map((s, i) => flat(s.l1?.teacher ?? s.teacher.boxes, sizes[i]!, 4))));
      const sl1 = cat(segments.map((s, i) => flat(s.l1?.student ?? s.student.boxes, sizes[i]!, 4)));
      cols.push(tf.mul(w, tf.mean(tf.abs(tf.sub(sl1, tl1)), -1)));
    }
    if (lambda.giou > 0) cols.push(tf.mul(w, tf.sub(1, pairGiouCxcywh(sb as tf.Tensor2D, tb as tf.Tensor2D))));
    cols.push(w);
    // Segment sums: the [k+1,total] rows times a [total,S] 0/1 matrix (rows stack contiguously: cheap).
    const seg = new Float32Array(total * segments.length);
    let start = 0;
    sizes.forEach((n, i) => {
      for (let p = start; p < start + n; p++) seg[p * segments.length + i] = 1;
      start += n;
    });
    const sums = tf.transpose(tf.matMul(tf.stack(cols, 0) as tf.Tensor2D, tf.tensor2d(seg, [total, segments.length]))); // [S,k+1]
    const k = cols.length - 1;
    const divisors = segmentDivisors(segments, sizes, active, options, () => tf.maximum(tf.slice(sums, [0, k], [-1, 1]), 1e-6));
    const perTerm = tf.div(tf.slice(sums, [0, 0], [-1, k]), tf.concat(divisors, 1));
    const scaled = tf.mul(perTerm, tf.tensor1d(active.map((t) => lambda[t])));
    const flatScaled = tf.reshape(scaled, [-1]);
    // tfjs's Unpack gradient breaks on a single output (its dy is then not an array).
    return (flatScaled.size === 1 ? [tf.reshape(flatScaled, [])] : tf.unstack(flatScaled)) as tf.Scalar[];
  });
  return segments.map((_, i) => Object.fromEntries(active.map((t, j) => [t, scalars[i * active.length + j]!])) as PointLoss);
}

/**
 * `[S,1]` divisor columns per active term: the weight sum for L1 / GIoU, the configured
 * normaliser for KL; from the global sums (divided by the ranks) when every segment has them.
 */
function segmentDivisors(segments: readonly KdSegment[], sizes: readonly number[], active: readonly (typeof TERMS)[number][], options: ResolvedKdLossOptions, localWeightSum: () => tf.Tensor): tf.Tensor[] {
  const withGlobal = segments.filter((s) => s.global).length;
  if (withGlobal > 0 && withGlobal < segments.length) throw new DetkitError('INVALID_ARGUMENT', 'kd-detr loss: either every segment or none carries global sums');
  const column = (per: number[]) => tf.tensor2d(per, [segments.length, 1]);
  if (withGlobal > 0) {
    const g = segments.map((s) => s.global!);
    const share = (f: (x: KdGlobalSums) => number) => column(g.map((x) => f(x) / x.worldSize));
    const weights = share((x) => Math.max(x.weightSum, 1e-6));
    const kl = { weights, sum: share(() => 1), batch: share((x) => x.batch), points: share((x) => x.points) }[options.klNormalizer];
    return active.map((t) => (t === 'cls' ? kl : weights));
  }
  const wSum = localWeightSum();
  return active.map((t) => {
    if (t !== 'cls' || options.klNormalizer === 'weights') return wSum;
    return column(segments.map((s, i) => ({ sum: 1, batch: s.batchSize ?? s.student.logits.shape[0], points: sizes[i]! })[options.klNormalizer as 'sum' | 'batch' | 'points']));
  });
}
