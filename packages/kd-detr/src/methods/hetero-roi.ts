import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, type LossTerms } from '@detkit/core';
import { boxCxcywhToXyxy, elementwiseIou, type DistillBoxes, type Encoded, type QueryGroupDetector, type RoiDistillable, type RoiTrainOutputs } from '@detkit/detectors';
import { studentAtTeacherClass } from '../loss/hetero-points.js';
import type { PointOutputs, ResolvedKdLossOptions } from '../loss/kd-loss.js';
import { roiDeltas, type HeteroBoxSpace } from '../loss/roi-deltas.js';
import { kdSegmentLosses, type KdSegment } from '../loss/segment-loss.js';
import { isProposalSampler, type ProposalSampler } from '../samplers/proposals.js';
import type { PointAnchors, QuerySampler } from '../samplers/sampler.js';
import type { DistillMethod, LossContext, PrepareContext, Prepared } from './method.js';
import { teacherAtAnchors, teacherPoints } from './teacher-points.js';

/**
 * Per iteration: the teacher-side groups (boxes on the host for the student's RoIs, and the
 * teacher's outputs there), and what the student-side (proposal) groups need in the loss step.
 */
export interface PreparedBoxes extends Prepared {
  groups: Array<{ name: string; boxes: DistillBoxes; teacher: PointOutputs }>;
  /** The teacher and its encoder output of this batch, kept only when proposal points are asked for. */
  teacher?: QueryGroupDetector;
  encoded?: Encoded;
  /** Tensors made in the loss step that the gradient may still read: freed with the iteration. */
  later: tf.Tensor[];
}

/** Pre-sigmoid anchors of normalised cxcywh boxes (clamped off 0 and 1, where the logit is infinite): how the teacher is given proposal points. */
export function anchorsOfBoxes(boxes: Float32Array): Float32Array {
  return boxes.map((v) => {
    const p = Math.min(Math.max(v, 1e-4), 1 - 1e-4);
    return Math.log(p / (1 - p));
  });
}

/**
 * Heterogeneous KD-DETR (kd-detr-method.md section 7): a DETR teacher distilled into a CNN
 * student. A distillation point is a box: the teacher decodes it as a query (anchor = the box,
 * zero content), the student pools it as an extra RoI through its RoI head
 * (`RoiDistillable.predictAtBoxes`: no sampling, no assignment). Points come from the samplers:
 * `proposals` (the student's own proposals of the iteration, the paper's choice: decoded by the
 * teacher in the loss step, from the encoder memory of `prepare`), and the homogeneous
 * `general` (random boxes) and `specific` (the teacher's anchors, per image for DINO).
 * Loss: the homogeneous one, on the student's foreground logits and its box for the teacher's
 * top class (`studentAtTeacherClass`), with the same T, lambdas, foreground weights and normaliser;
 * with `boxSpace: 'roi'` its L1 term compares the boxes as R-CNN deltas relative to the point
 * (`roiDeltas`), the student's own box-loss space.
 */
export class HeteroRoiDistillation implements DistillMethod<PreparedBoxes, RoiDistillable, RoiTrainOutputs> {
  readonly name = 'kd-detr-hetero';
  readonly needsTeacher = true;
  readonly studentContract = 'roi' as const;
  private readonly teacherSide: QuerySampler[];
  private readonly studentSide: ProposalSampler[];

  constructor(
    readonly samplers: readonly QuerySampler[],
    readonly loss: ResolvedKdLossOptions,
    readonly boxSpace: HeteroBoxSpace = 'image',
    readonly minTeacherIou = 0,
  ) {
    if (!(minTeacherIou >= 0 && minTeacherIou <= 1)) throw new DetkitError('CONFIG_INVALID', `distill.minTeacherIou must be in [0, 1], got ${minTeacherIou}`, { key: 'distill.minTeacherIou' });
    if (samplers.length === 0) throw new DetkitError('CONFIG_INVALID', 'distill.samplers: kd-detr-hetero needs at least one sampler (e.g. [{ type: "proposals" }])', { key: 'distill.samplers' });
    if (new Set(samplers.map((s) => s.name)).size !== samplers.length) {
      throw new DetkitError('CONFIG_INVALID', 'distill.samplers: two samplers share a name (their loss terms would collide); give one a distinct `name`', { key: 'distill.samplers' });
    }
    this.teacherSide = samplers.filter((s) => !isProposalSampler(s));
    this.studentSide = samplers.filter(isProposalSampler);
  }

  async prepare({ teacher, batch, iter, replica, student }: PrepareContext<RoiDistillable>): Promise<PreparedBoxes> {
    if (replica && replica.worldSize > 1) {
      throw new DetkitError('NOT_IMPLEMENTED', 'kd-detr-hetero: data-parallel training (train.workers > 1) is not supported yet: run with one worker', { key: 'train.workers' });
    }
    if (this.studentSide.length && student && typeof student.distillationProposals !== 'function') {
      throw new DetkitError('MODEL_CONTRACT', `kd-detr-hetero: sampler '${this.studentSide[0]!.name}' (type 'proposals') needs the student's own proposals, but ${student.constructor.name} has no distillationProposals (RoI contract)`);
    }
    const keep = this.studentSide.length > 0;
    const { anchors, outputs: teacherOut, encoded } = teacherPoints(teacher, batch, this.teacherSide, iter, keep);
    try {
      // The student needs the boxes on the host (its RoIAlign weights are built there).
      const boxes = await Promise.all(anchors.map((a) => hostBoxes(a)));
      const groups = this.teacherSide.map((s, i) => ({ name: s.name, boxes: boxes[i]!, teacher: teacherOut[i]! }));
      const later: tf.Tensor[] = [];
      const dispose = () => {
        groups.forEach((g) => tf.dispose([g.teacher.logits, g.teacher.boxes]));
        if (encoded) tf.dispose(encoded as unknown as tf.TensorContainer);
        tf.dispose(later.splice(0));
      };
      return { groups, ...(keep ? { teacher, encoded } : {}), later, dispose };
    } finally {
      tf.dispose(anchors);
    }
  }

  losses({ student, outputs, prepared }: LossContext<PreparedBoxes, RoiDistillable, RoiTrainOutputs>): LossTerms {
    if (!outputs || outputs.roiFeatures === undefined) {
      throw new DetkitError('MODEL_CONTRACT', "kd-detr-hetero: the student's forwardTrain did not expose outputs.roiFeatures (RoI contract)");
    }
    const segments = prepared.groups.map((g) => ({ name: g.name, teacher: g.teacher, boxes: g.boxes }));
    for (const s of this.studentSide) {
      const points = this.proposalPoints(student, outputs, prepared, s);
      if (points) segments.push({ name: s.name, ...points });
    }
    const terms: LossTerms = {};
    const computed = segments.map((g): KdSegment => {
      const s = studentAtTeacherClass(g.teacher, student.predictAtBoxes(outputs.roiFeatures, g.boxes));
      if (this.boxSpace === 'image' && this.minTeacherIou === 0) return { teacher: g.teacher, student: s };
      const points = pointTensor(g.boxes, s.boxes.shape[0]);
      return {
        teacher: g.teacher,
        student: s,
        ...(this.boxSpace === 'roi' ? { l1: { teacher: roiDeltas(g.teacher.boxes, points), student: roiDeltas(s.boxes, points) } } : {}),
        ...(this.minTeacherIou > 0 ? { pointMask: withinReach(g.teacher.boxes, points, this.minTeacherIou) } : {}),
      };
    });
    kdSegmentLosses(computed, this.loss).forEach((loss, i) => {
      for (const [t, v] of Object.entries(loss)) terms[`kd_${segments[i]!.name}_${t}`] = v!;
    });
    // A batch without a single proposal in some image (rare: the RPN keeps hundreds) gives that group no points this iteration.
    for (const name of this.expectedTerms()) terms[name] ??= tf.scalar(0);
    return terms;
  }

  /**
   * The student's proposals of this iteration as one per-image group (the same count for every
   * image: the smallest), decoded by the teacher from its encoder output of `prepare`.
   */
  private proposalPoints(student: RoiDistillable, outputs: RoiTrainOutputs, prepared: PreparedBoxes, s: ProposalSampler): { teacher: PointOutputs; boxes: DistillBoxes } | undefined {
    if (typeof student.distillationProposals !== 'function') {
      throw new DetkitError('MODEL_CONTRACT', `kd-detr-hetero: sampler '${s.name}' (type 'proposals') needs the student's own proposals, but ${student.constructor.name} has no distillationProposals (RoI contract)`);
    }
    const perImage = student.distillationProposals(outputs, s.count);
    const m = Math.min(...perImage.map((b) => b.length / 4));
    if (!(m > 0)) return undefined;
    const boxes = perImage.map((b) => b.subarray(0, 4 * m));
    const anchors = tf.tensor3d(anchorsOfBoxes(Float32Array.from(boxes.flatMap((b) => Array.from(b)))), [boxes.length, m, 4]);
    const [teacher] = teacherAtAnchors(prepared.teacher!, prepared.encoded!, [anchors]);
    prepared.later.push(anchors, teacher!.logits, teacher!.boxes);
    return { teacher: teacher!, boxes: { perImage: boxes } };
  }

  expectedTerms(): string[] {
    const active = (['cls', 'l1', 'giou'] as const).filter((t) => this.loss.weights[t] > 0);
    return this.samplers.flatMap((s) => active.map((t) => `kd_${s.name}_${t}`));
  }
}

/** Normalised cxcywh boxes on the host: `[M,4]` anchors shared by the batch, or `[B,M,4]` one set per image. */
async function hostBoxes(anchors: PointAnchors): Promise<DistillBoxes> {
  const s = tf.sigmoid(anchors);
  try {
    const v = (await s.data()) as Float32Array;
    if (anchors.rank === 2) return { boxes: v };
    const [b, m] = anchors.shape;
    return { perImage: Array.from({ length: b }, (_, i) => v.slice(4 * m! * i, 4 * m! * (i + 1))) };
  } finally {
    s.dispose();
  }
}

/** The distillation boxes as a `[B,M,4]` tensor (shared boxes repeated for every image). */
function pointTensor(boxes: DistillBoxes, batch: number): tf.Tensor3D {
  if (boxes.perImage) {
    const m = boxes.perImage[0]!.length / 4;
    const flat = new Float32Array(batch * m * 4);
    boxes.perImage.forEach((b, i) => flat.set(b, i * m * 4));
    return tf.tensor3d(flat, [batch, m, 4]);
  }
  const m = boxes.boxes.length / 4;
  const shared = boxes.boxes;
  return tf.tidy(() => tf.tile(tf.tensor3d(shared, [1, m, 4]), [batch, 1, 1]) as tf.Tensor3D);
}

/**
 * 1 where the teacher's box overlaps the point's box by at least `minIou`, else 0 (`[B,M]`,
 * constants). A RoI head regresses a box from the features inside its RoI, and Faster R-CNN trains
 * it only on RoIs that overlap their target by 0.5; a teacher box outside that reach (its query
 * found a digit elsewhere, as for ~70% of the student's top-100 proposals on MNIST) is a target
 * the head cannot learn, and its large error would dominate the box terms.
 */
function withinReach(teacherBoxes: tf.Tensor3D, points: tf.Tensor3D, minIou: number): tf.Tensor2D {
  const [b, m] = points.shape;
  return tf.tidy(() => {
    const flat = (t: tf.Tensor3D) => boxCxcywhToXyxy(tf.reshape(t, [b * m, 4]) as tf.Tensor2D) as tf.Tensor2D;
    const iou = elementwiseIou(flat(teacherBoxes), flat(points));
    return tf.reshape(tf.cast(tf.greaterEqual(iou, minIou), 'float32'), [b, m]) as tf.Tensor2D;
  });
}
