import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, type LossTerms } from '@detkit/core';
import { boxCxcywhToXyxy, elementwiseGiou, klDivWithTemperature, type DecodeOutput } from '@detkit/detectors';
import { detach } from '../util/detach.js';
import { foregroundWeights } from './foreground-weights.js';
import { kdSegmentLosses, type KdGlobalSums, type KdSegment } from './segment-loss.js';

/**
 * How the weighted KL sum over points is normalised.
 * - `weights` (default): `sum_i w_i KL_i / sum_i w_i`, the same weighted mean as L1 and GIoU, so
 *   the three terms share one scale whatever the batch size and number of points, and the
 *   lambdas (1, 5, 2) balance them as DETR's detection-loss weights do.
 * - `sum`: `sum_i w_i KL_i`, the reference code's literal reduction (grows with B * M).
 * - `batch`: the sum divided by the batch size (per-image sum).
 * - `points`: the sum divided by the number of points B * M.
 */
export type KlNormalizer = 'weights' | 'sum' | 'batch' | 'points';
export const KL_NORMALIZERS: readonly KlNormalizer[] = ['weights', 'sum', 'batch', 'points'];

export interface KdLossWeights {
  cls: number;
  l1: number;
  giou: number;
}

export interface KdLossOptions {
  /** Softmax temperature of the KL term (reference: 10). */
  temperature?: number;
  /** lambda_cls, lambda_L1, lambda_GIoU (reference: 1, 5, 2). A 0 weight skips the term. */
  weights?: Partial<KdLossWeights>;
  /** `w_i = max_c sigmoid(teacher logit)` when true (default); `w_i = 1` when false. */
  foregroundWeighting?: boolean;
  klNormalizer?: KlNormalizer;
}

export interface ResolvedKdLossOptions {
  temperature: number;
  weights: KdLossWeights;
  foregroundWeighting: boolean;
  klNormalizer: KlNormalizer;
}

export function resolveKdLossOptions(o: KdLossOptions = {}): ResolvedKdLossOptions {
  const r: ResolvedKdLossOptions = {
    temperature: o.temperature ?? 10,
    weights: { cls: 1, l1: 5, giou: 2, ...o.weights },
    foregroundWeighting: o.foregroundWeighting ?? true,
    klNormalizer: o.klNormalizer ?? 'sum',
  };
  if (!(r.temperature > 0) || !Number.isFinite(r.temperature)) {
    throw new DetkitError('CONFIG_INVALID', `kd-detr loss: temperature must be a finite number > 0, got ${o.temperature}`, { key: 'temperature' });
  }
  for (const [k, w] of Object.entries(r.weights)) {
    if (!Number.isFinite(w) || w < 0) throw new DetkitError('CONFIG_INVALID', `kd-detr loss: weights.${k} must be a finite number >= 0, got ${w}`, { key: `weights.${k}` });
  }
  if (!KL_NORMALIZERS.includes(r.klNormalizer)) {
    throw new DetkitError('CONFIG_INVALID', `kd-detr loss: klNormalizer must be one of ${KL_NORMALIZERS.join(', ')}, got ${JSON.stringify(o.klNormalizer)}`, { key: 'klNormalizer' });
  }
  return r;
}

/** One set of point outputs: `[B,M,C]` logits and `[B,M,4]` sigmoid cxcywh boxes. */
export interface PointOutputs {
  logits: tf.Tensor3D;
  boxes: tf.Tensor3D;
}

/** The three weighted terms at one set of points (terms with weight 0 are absent). */
export type PointLoss = Partial<Record<keyof KdLossWeights, tf.Scalar>>;

/**
 * The distillation loss at shared points (kd-detr-method.md section 6), each term already
 * multiplied by its lambda:
 *   cls  = lambda_cls  * norm(sum_i w_i KL(softmax(c_t/T) || softmax(c_s/T)) T^2)   (KL: mean over classes)
 *   l1   = lambda_L1   * sum_i w_i mean_4|b_s - b_t| / sum_i w_i
 *   giou = lambda_GIoU * sum_i w_i (1 - GIoU(b_s, b_t)) / sum_i w_i
 * Points are all B * M (image, query) pairs. The teacher side is detached.
 */
export function kdPointLoss(teacher: PointOutputs, student: PointOutputs, options: ResolvedKdLossOptions): PointLoss {
  const [b, m, c] = student.logits.shape;
  if (teacher.logits.shape.join() !== student.logits.shape.join() || teacher.boxes.shape.join() !== student.boxes.shape.join()) {
    throw new DetkitError(
      'MODEL_CONTRACT',
      `kd-detr loss: teacher outputs (logits [${teacher.logits.shape}], boxes [${teacher.boxes.shape}]) and student outputs ` +
        `(logits [${student.logits.shape}], boxes [${student.boxes.shape}]) differ in shape`,
    );
  }
  const n = b * m;
  if (n === 0) throw new DetkitError('INVALID_ARGUMENT', 'kd-detr loss: no distillation points (a sampler produced 0 points?)');
  const { weights: lambda, temperature } = options;
  const out: PointLoss = {};
  // Each term is returned from its own tidy (not tf.keep'd, which would escape the caller's tidy too).
  const parts = tf.tidy(() => {
    const tl = detach(tf.reshape(teacher.logits, [n, c]));
    const tb = detach(tf.reshape(teacher.boxes, [n, 4]));
    const sl = tf.reshape(student.logits, [n, c]);
    const sb = tf.reshape(student.boxes, [n, 4]);
    const w = options.foregroundWeighting ? (foregroundWeights(tl) as tf.Tensor1D) : (tf.ones([n]) as tf.Tensor1D);
    const wSum = tf.maximum(tf.sum(w), 1e-6);
    const weightedMean = (perPoint: tf.Tensor) => tf.div(tf.sum(tf.mul(w, perPoint)), wSum) as tf.Scalar;
    const r: Array<tf.Scalar | undefined> = [undefined, undefined, undefined];
    if (lambda.cls > 0) {
      const kl = klDivWithTemperature(tl, sl, temperature);
      const sum = tf.sum(tf.mul(w, kl));
      const divisor = { weights: wSum, sum: tf.scalar(1), batch: tf.scalar(b), points: tf.scalar(n) }[options.klNormalizer];
      r[0] = tf.mul(tf.div(sum, divisor), lambda.cls) as tf.Scalar;
    }
    if (lambda.l1 > 0) r[1] = tf.mul(weightedMean(tf.mean(tf.abs(tf.sub(sb, tb)), -1)), lambda.l1) as tf.Scalar;
    if (lambda.giou > 0) {
      const giou = elementwiseGiou(boxCxcywhToXyxy(sb as tf.Tensor2D), boxCxcywhToXyxy(tb as tf.Tensor2D));
      r[2] = tf.mul(weightedMean(tf.sub(1, giou)), lambda.giou) as tf.Scalar;
    }
    return r.filter((t): t is tf.Scalar => t !== undefined);
  });
  let k = 0;
  if (lambda.cls > 0) out.cls = parts[k++];
  if (lambda.l1 > 0) out.l1 = parts[k++];
  if (lambda.giou > 0) out.giou = parts[k++];
  return out;
}

/**
 * Every student decoder layer against the teacher's FINAL layer, as the reference does. Terms
 * are named `kd_<group>_<term>` for the student's last layer and `kd_<group>_<term>_<l>` for
 * auxiliary layer l (DETR's `loss_ce_0` convention).
 */
export function kdGroupLosses(group: string, teacherFinal: PointOutputs, student: DecodeOutput, options: ResolvedKdLossOptions): LossTerms {
  return kdGroupsLosses([{ name: group, teacher: teacherFinal, student }], options);
}

/** One query group's outputs for `kdGroupsLosses`. */
export interface KdGroupOutputs {
  name: string;
  /** The teacher's final-layer outputs at the group's points. */
  teacher: PointOutputs;
  /** The student's outputs there, per decoder layer. */
  student: DecodeOutput;
  /** Data-parallel: the group's normalisers over the global batch (every layer shares them). */
  global?: KdGlobalSums;
}

/** `kdGroupLosses` for several groups, every (group, layer) reduced in one batched pass (see `kdSegmentLosses`). */
export function kdGroupsLosses(groups: readonly KdGroupOutputs[], options: ResolvedKdLossOptions): LossTerms {
  const segments: KdSegment[] = [];
  const names: Array<(term: string) => string> = [];
  for (const { name, teacher, student, global } of groups) {
    const layers = student.logits.length;
    if (layers === 0 || student.boxes.length !== layers) {
      throw new DetkitError('MODEL_CONTRACT', `kd-detr: the student returned ${layers} logit layers and ${student.boxes.length} box layers for group '${name}'`);
    }
    for (let l = 0; l < layers; l++) {
      segments.push({ teacher, student: { logits: student.logits[l]!, boxes: student.boxes[l]! }, ...(global ? { global } : {}) });
      const suffix = l === layers - 1 ? '' : `_${l}`;
      names.push((term) => `kd_${name}_${term}${suffix}`);
    }
  }
  const terms: LossTerms = {};
  kdSegmentLosses(segments, options).forEach((loss, i) => {
    for (const [term, value] of Object.entries(loss)) terms[names[i]!(term)] = value!;
  });
  return terms;
}

/** The names `kdGroupLosses` produces, for checking that every configured term was computed. */
export function kdGroupTermNames(group: string, numLayers: number, options: ResolvedKdLossOptions): string[] {
  const names: string[] = [];
  const active = (['cls', 'l1', 'giou'] as const).filter((t) => options.weights[t] > 0);
  for (let l = 0; l < numLayers; l++) for (const t of active) names.push(`kd_${group}_${t}${l === numLayers - 1 ? '' : `_${l}`}`);
  return names;
}
