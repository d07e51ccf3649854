import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, runStepsSync, type ForwardSteps, type LossTerms } from '@detkit/core';
import { gatherRows, HungarianMatcher, layerTermName, type MatchIndices, type MatchTarget, type QueryGroupDetector } from '@detkit/detectors';
import { kdGroupTermNames, type ResolvedKdLossOptions } from '../loss/kd-loss.js';
import { kdGlobalSums } from '../loss/global-sums.js';
import { kdSegmentLosses, type KdGlobalSums, type KdSegment } from '../loss/segment-loss.js';
import type { DistillMethod, LossContext, PrepareContext, Prepared } from './method.js';

/** The teacher's final detection outputs, as tensors (loss targets) and as host arrays (matching). */
export interface PreparedDetections extends Prepared {
  logits: tf.Tensor3D;
  boxes: tf.Tensor3D;
  /** Host copies of `logits` and `boxes`, read once before the tape (matching runs on the CPU). */
  hostLogits: Float32Array;
  hostBoxes: Float32Array;
  /** Data-parallel: the matched pairs' normalisers over the global batch (every layer matches the same teacher targets). */
  global?: KdGlobalSums;
}

/** A matched pair list for one image: student query `studentIdx[k]` imitates teacher query `teacherIdx[k]`. */
export interface TeacherMatch {
  studentIdx: Int32Array;
  teacherIdx: Int32Array;
}

/**
 * Builds matching targets from teacher detections: per image the `k` highest-scoring teacher
 * queries (score = max class probability), labelled by their arg-max class, with their boxes.
 */
export function teacherTargets(logits: Float32Array, boxes: Float32Array, shape: readonly [number, number, number], k: number): Array<MatchTarget & { teacherIdx: Int32Array }> {
  const [b, q, c] = shape;
  const out: Array<MatchTarget & { teacherIdx: Int32Array }> = [];
  for (let i = 0; i < b; i++) {
    const label = new Int32Array(q);
    const score = new Float64Array(q);
    for (let j = 0; j < q; j++) {
      let best = 0;
      for (let cl = 1; cl < c; cl++) if (logits[(i * q + j) * c + cl]! > logits[(i * q + j) * c + best]!) best = cl;
      label[j] = best;
      score[j] = logits[(i * q + j) * c + best]!;
    }
    const order = Array.from({ length: q }, (_, j) => j).sort((x, y) => score[y]! - score[x]! || x - y).slice(0, Math.min(k, q)).sort((x, y) => x - y);
    const bx = new Float32Array(4 * order.length);
    order.forEach((j, t) => bx.set(boxes.subarray((i * q + j) * 4, (i * q + j) * 4 + 4), 4 * t));
    out.push({ boxes: bx, labels: Int32Array.from(order, (j) => label[j]!), teacherIdx: Int32Array.from(order) });
  }
  return out;
}

/** Matches one student layer to the teacher targets by DETR's focal + L1 + GIoU cost (reads the student synchronously). */
export function matchToTeacher(matcher: HungarianMatcher, student: { logits: tf.Tensor3D; boxes: tf.Tensor3D }, targets: ReturnType<typeof teacherTargets>): TeacherMatch[] {
  return runStepsSync(matchToTeacherSteps(matcher, [student], targets))[0]!;
}

/** `matchToTeacher` for every student layer, with one host read of all of them (ForwardSteps). */
export function* matchToTeacherSteps(matcher: HungarianMatcher, layers: ReadonlyArray<{ logits: tf.Tensor3D; boxes: tf.Tensor3D }>, targets: ReturnType<typeof teacherTargets>): ForwardSteps<TeacherMatch[][]> {
  const host = yield* matcher.readSteps(layers);
  return layers.map((layer, l) => toTeacherMatch(matcher.matchHost(layer, host[l]!, targets), targets));
}

function toTeacherMatch(m: MatchIndices[], targets: ReturnType<typeof teacherTargets>): TeacherMatch[] {
  return m.map((mi, i) => ({ studentIdx: mi.queryIdx, teacherIdx: Int32Array.from(mi.targetIdx, (t) => targets[i]!.teacherIdx[t]!) }));
}

/**
 * Baseline (DETRDistill-style, "inconsistent points"): distil through the detection queries,
 * pairing each student query with a teacher query by Hungarian matching of their predictions,
 * then the same KL / L1 / GIoU loss on the matched pairs. Every student layer is matched to,
 * and supervised by, the teacher's final layer.
 */
export class HungarianLogitsDistillation implements DistillMethod<PreparedDetections> {
  readonly name = 'hungarian-logits';
  readonly needsTeacher = true;
  readonly matcher: HungarianMatcher;

  constructor(
    readonly loss: ResolvedKdLossOptions,
    matcher?: HungarianMatcher,
    /** At most this many (top-scored) teacher queries per image are matched; never more than the student's query count. */
    readonly maxTargets = Infinity,
  ) {
    this.matcher = matcher ?? new HungarianMatcher();
  }

  async prepare({ teacher, batch, student, replica }: PrepareContext): Promise<PreparedDetections> {
    const [logits, boxes] = tf.tidy(() => {
      const { detection } = teacher.decode(teacher.encode(batch.images, batch.masks), [], { finalLayerOnly: true });
      const last = detection.logits.length - 1;
      return [detection.logits[last]!, detection.boxes[last]!];
    });
    let l: tf.TypedArray, b: tf.TypedArray;
    try {
      [l, b] = await Promise.all([logits.data(), boxes.data()]);
    } catch (e) {
      tf.dispose([logits, boxes]);
      throw e;
    }
    const prepared: PreparedDetections = {
      logits,
      boxes,
      hostLogits: l as Float32Array,
      hostBoxes: b as Float32Array,
      dispose: () => tf.dispose([logits, boxes]),
    };
    if (replica && replica.worldSize > 1) {
      try {
        if (!student) throw new DetkitError('INVALID_ARGUMENT', 'hungarian-logits: data-parallel training needs the student in prepare() (its query count)');
        prepared.global = kdGlobalSums([this.localSums(prepared, student.numQueries)], replica)![0];
      } catch (e) {
        prepared.dispose();
        throw e;
      }
    }
    return prepared;
  }

  /**
   * This rank's normalisers: every teacher target is matched (there are at most as many as
   * student queries), so the pairs are the targets: B*k points, weights from their logits.
   */
  private localSums(p: PreparedDetections, studentQueries: number): { weightSum: number; batch: number; points: number } {
    const targets = teacherTargets(p.hostLogits, p.hostBoxes, p.logits.shape, Math.min(this.maxTargets, studentQueries));
    const [, q, c] = p.logits.shape;
    let weightSum = 0;
    let points = 0;
    targets.forEach((t, i) => {
      points += t.teacherIdx.length;
      for (const j of t.teacherIdx) {
        let best = -Infinity;
        for (let k = 0; k < c; k++) best = Math.max(best, p.hostLogits[(i * q + j) * c + k]!);
        weightSum += this.loss.foregroundWeighting ? 1 / (1 + Math.exp(-best)) : 1; // max_c sigmoid = sigmoid(max_c)
      }
    });
    // The segments are [1, pairs] rows, but the 'batch' normaliser counts images.
    return { weightSum, batch: p.logits.shape[0], points };
  }

  /** Reads the student's outputs for the matching: the model's own matching read them already, so no extra device read. */
  *losses({ outputs, prepared }: LossContext<PreparedDetections>): ForwardSteps<LossTerms> {
    const det = outputs?.detection;
    if (!det || det.logits.length === 0) throw new DetkitError('MODEL_CONTRACT', 'hungarian-logits: the student\'s forwardTrain did not expose outputs.detection');
    const [b, qs, c] = det.logits[0]!.shape;
    const qt = prepared.logits.shape[1];
    // At most as many teacher targets as the student has queries, or some would stay unmatched.
    const targets = teacherTargets(prepared.hostLogits, prepared.hostBoxes, prepared.logits.shape, Math.min(this.maxTargets, qs));
    const layers = det.logits.length;
    const studentLayers = det.logits.map((logits, l) => ({ logits, boxes: det.boxes[l]! }));
    const matches = yield* matchToTeacherSteps(this.matcher, studentLayers, targets);
    const segments: KdSegment[] = [];
    for (let l = 0; l < layers; l++) {
      const layer = studentLayers[l]!;
      const match = matches[l]!;
      const sRows: number[] = [];
      const tRows: number[] = [];
      match.forEach((m, i) => m.studentIdx.forEach((s, k) => (sRows.push(i * qs + s), tRows.push(i * qt + m.teacherIdx[k]!))));
      if (sRows.length === 0) throw new DetkitError('INVALID_ARGUMENT', 'hungarian-logits: no matched pairs (the teacher has no queries?)');
      const k = sRows.length;
      const pick = (x: tf.Tensor3D, rows: number[], n: number, d: number) => tf.reshape(gatherRows(tf.reshape(x, [b * n, d]) as tf.Tensor2D, rows), [1, k, d]) as tf.Tensor3D;
      segments.push({
        teacher: { logits: pick(prepared.logits, tRows, qt, c), boxes: pick(prepared.boxes, tRows, qt, 4) },
        student: { logits: pick(layer.logits, sRows, qs, c), boxes: pick(layer.boxes, sRows, qs, 4) },
        // The pairs of all b images sit in one [1, k] row: the 'batch' normaliser still divides by b.
        batchSize: b,
        ...(prepared.global ? { global: prepared.global } : {}),
      });
    }
    // Every layer's pairs reduced in one batched pass.
    const terms: LossTerms = {};
    kdSegmentLosses(segments, this.loss).forEach((loss, l) => {
      for (const [name, v] of Object.entries(loss)) terms[layerTermName(`kd_hungarian_${name}`, l, layers)] = v!;
    });
    return terms;
  }

  expectedTerms(student: QueryGroupDetector): string[] {
    return kdGroupTermNames('hungarian', student.numDecoderLayers, this.loss);
  }
}
