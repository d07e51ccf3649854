import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, lossNormalizer, type Batch, type ForwardSteps, type LossTerms } from '@detkit/core';
import { gatherRows, HungarianMatcher, layerTermName, type MatchIndices, type QueryGroupDetector } from '@detkit/detectors';
import { klDivWithTemperature } from '../loss/kl-div.js';
import { smoothL1 } from '../loss/smooth-l1.js';
import { detach } from '../util/detach.js';
import type { DistillMethod, LossContext, PrepareContext, Prepared } from './method.js';

export interface GtMatchedLogitsOptions {
  /** KL temperature (reference: 10; the KL is averaged over classes and multiplied by T^2). */
  temperature?: number;
  /** Weight of the KL term (reference: 10). */
  clsWeight?: number;
  /** Weight of the smooth-L1 box term (reference: 1). */
  boxWeight?: number;
  /** Smooth-L1 beta (reference: 1/9). */
  beta?: number;
}

/** The teacher's final detection outputs and, per image, the teacher query matched to each ground-truth box. */
export interface PreparedGtMatch extends Prepared {
  logits: tf.Tensor3D;
  boxes: tf.Tensor3D;
  /** `teacherByGt[i][j]`: the teacher query Hungarian-matched to ground-truth box j of image i. */
  teacherByGt: Int32Array[];
}

/** Per image, the query matched to each ground-truth box (inverts the matcher's pairs). */
export function queryByGroundTruth(matches: readonly MatchIndices[], batch: Batch): Int32Array[] {
  return matches.map((m, i) => {
    const byGt = new Int32Array(batch.targets[i]!.labels.length).fill(-1);
    m.targetIdx.forEach((j, k) => (byGt[j] = m.queryIdx[k]!));
    if (byGt.some((q) => q < 0)) throw new DetkitError('MODEL_CONTRACT', `gt-matched-logits: image ${i} has more ground-truth boxes (${byGt.length}) than queries; some stay unmatched`);
    return byGt;
  });
}

/**
 * Baseline as the KD-DETR reference code compares against (its `loss_kd_logits` with matching):
 * teacher and student are each Hungarian-matched to the ground truth, and the student imitates
 * the teacher through the pairs of queries that matched the same ground-truth box (inconsistent
 * points: which queries pair up depends on two independent matchings). Loss per pair, averaged
 * over pairs: 10 x KL(softmax(t/T) || softmax(s/T)) T^2 (mean over classes) + 1 x smooth L1
 * (beta 1/9, mean over the 4 coordinates); no foreground weights. The reference pairs student
 * layer l with teacher layer l; our students and teachers differ in depth, so every student layer
 * is matched on its own and supervised by the teacher's final layer (as for the other methods).
 */
export class GtMatchedLogitsDistillation implements DistillMethod<PreparedGtMatch> {
  readonly name = 'gt-matched-logits';
  readonly needsTeacher = true;
  readonly matcher: HungarianMatcher;
  readonly options: Required<GtMatchedLogitsOptions>;

  constructor(options: GtMatchedLogitsOptions = {}, matcher?: HungarianMatcher) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.options = { temperature: 10, clsWeight: 10, boxWeight: 1, beta: 1 / 9, ...given };
    for (const [k, v] of Object.entries(this.options)) {
      const positive = k === 'temperature' || k === 'beta';
      if (!Number.isFinite(v) || v < 0 || (positive && v === 0)) {
        throw new DetkitError('CONFIG_INVALID', `distill.${k} must be a finite number ${positive ? '> 0' : '>= 0'}, got ${v}`, { key: `distill.${k}` });
      }
    }
    this.matcher = matcher ?? new HungarianMatcher();
  }

  async prepare({ teacher, batch }: PrepareContext): Promise<PreparedGtMatch> {
    const [logits, boxes] = tf.tidy(() => {
      const { detection } = teacher.decode(teacher.encode(batch.images, batch.masks), [], { finalLayerOnly: true });
      const last = detection.logits.length - 1;
      return [detection.logits[last]!, detection.boxes[last]!];
    });
    try {
      const teacherByGt = queryByGroundTruth(await this.matcher.matchAsync({ logits, boxes }, batch.targets), batch);
      return { logits, boxes, teacherByGt, dispose: () => tf.dispose([logits, boxes]) };
    } catch (e) {
      tf.dispose([logits, boxes]);
      throw e;
    }
  }

  /** Matches every student layer on one host read of their outputs (ForwardSteps: no synchronous read). */
  *losses({ outputs, batch, prepared }: LossContext<PreparedGtMatch>): ForwardSteps<LossTerms> {
    const det = outputs?.detection;
    if (!det || det.logits.length === 0) throw new DetkitError('MODEL_CONTRACT', 'gt-matched-logits: the student\'s forwardTrain did not expose outputs.detection');
    const [b, qs, c] = det.logits[0]!.shape;
    const qt = prepared.logits.shape[1];
    const layers = det.logits.length;
    const { temperature, clsWeight, boxWeight, beta } = this.options;
    const terms: LossTerms = {};
    const tRows: number[] = [];
    prepared.teacherByGt.forEach((byGt, i) => byGt.forEach((q) => tRows.push(i * qt + q)));
    const pairs = tRows.length;
    const studentLayers = det.logits.map((logits, l) => ({ logits, boxes: det.boxes[l]! }));
    const host = pairs === 0 ? [] : yield* this.matcher.readSteps(studentLayers);
    // Every ground-truth box makes one pair: the mean over pairs is over the global batch's boxes
    // (data-parallel ranks then average to the single-process gradient).
    const perPair = lossNormalizer(batch, pairs, 'boxes');
    for (let l = 0; l < layers; l++) {
      let cls: tf.Scalar;
      let box: tf.Scalar;
      if (pairs === 0) {
        // A batch without objects has no pairs: nothing to imitate (zero, not NaN).
        [cls, box] = [tf.scalar(0), tf.scalar(0)];
      } else {
        const studentByGt = queryByGroundTruth(this.matcher.matchHost(studentLayers[l]!, host[l]!, batch.targets), batch);
        const sRows: number[] = [];
        studentByGt.forEach((byGt, i) => byGt.forEach((q) => sRows.push(i * qs + q)));
        [cls, box] = tf.tidy(() => {
          const pick = (x: tf.Tensor3D, rows: number[], n: number, d: number) => gatherRows(tf.reshape(x, [b * n, d]) as tf.Tensor2D, rows);
          const tl = detach(pick(prepared.logits, tRows, qt, c));
          const tb = detach(pick(prepared.boxes, tRows, qt, 4));
          const kl = tf.sum(klDivWithTemperature(tl, pick(det.logits[l]!, sRows, qs, c), temperature));
          const l1 = tf.div(tf.sum(smoothL1(pick(det.boxes[l]!, sRows, qs, 4), tb, beta)), 4); // mean over the 4 coordinates
          return [tf.mul(kl, clsWeight / perPair) as tf.Scalar, tf.mul(l1, boxWeight / perPair) as tf.Scalar];
        });
      }
      terms[layerTermName('kd_gtmatch_cls', l, layers)] = cls;
      terms[layerTermName('kd_gtmatch_bbox', l, layers)] = box;
    }
    return terms;
  }

  expectedTerms(student: QueryGroupDetector): string[] {
    const n = student.numDecoderLayers;
    return Array.from({ length: n }, (_, l) => [layerTermName('kd_gtmatch_cls', l, n), layerTermName('kd_gtmatch_bbox', l, n)]).flat();
  }
}
