import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, type LossTerms } from '@detkit/core';
import type { RoiDistillable, RoiTrainOutputs } from '@detkit/detectors';
import { studentAtTeacherClass } from '../loss/hetero-points.js';
import type { PointOutputs, ResolvedKdLossOptions } from '../loss/kd-loss.js';
import { kdSegmentLosses } from '../loss/segment-loss.js';
import type { QuerySampler } from '../samplers/sampler.js';
import type { DistillMethod, LossContext, PrepareContext, Prepared } from './method.js';
import { teacherPoints } from './teacher-points.js';

/** Per iteration and group: the shared boxes (host, for the student's RoIs) and the teacher's outputs there. */
export interface PreparedBoxes extends Prepared {
  groups: Array<{ name: string; boxes: Float32Array; teacher: PointOutputs }>;
}

/**
 * Heterogeneous KD-DETR (kd-detr-method.md section 7): a DETR teacher distilled into a CNN
 * student. A distillation point is a box. The same samplers as `kd-detr` give anchors (random
 * general boxes, the teacher's own anchors); the teacher decodes each as a query (anchor = the
 * box, zero content), the student pools it as an extra RoI through its RoI head
 * (`RoiDistillable.predictAtBoxes`: no sampling, no assignment). Loss: the homogeneous one,
 * on the student's foreground logits and its box for the teacher's top class
 * (`studentAtTeacherClass`), with the same T, lambdas, foreground weights and normaliser.
 * The student's own RPN proposals are not used as points yet: they differ per image, and a
 * query group's anchors are shared by the batch.
 */
export class HeteroRoiDistillation implements DistillMethod<PreparedBoxes, RoiDistillable, RoiTrainOutputs> {
  readonly name = 'kd-detr-hetero';
  readonly needsTeacher = true;
  readonly studentContract = 'roi' as const;

  constructor(
    readonly samplers: readonly QuerySampler[],
    readonly loss: ResolvedKdLossOptions,
  ) {
    if (samplers.length === 0) throw new DetkitError('CONFIG_INVALID', 'distill.samplers: kd-detr-hetero needs at least one sampler (e.g. [{ type: "general" }, { type: "specific" }])', { key: 'distill.samplers' });
    if (new Set(samplers.map((s) => s.name)).size !== samplers.length) {
      throw new DetkitError('CONFIG_INVALID', 'distill.samplers: two samplers share a name (their loss terms would collide); give one a distinct `name`', { key: 'distill.samplers' });
    }
  }

  async prepare({ teacher, batch, iter, replica }: PrepareContext<RoiDistillable>): Promise<PreparedBoxes> {
    if (replica && replica.worldSize > 1) {
      throw new DetkitError('NOT_IMPLEMENTED', 'kd-detr-hetero: data-parallel training (train.workers > 1) is not supported yet: run with one worker', { key: 'train.workers' });
    }
    const { anchors, outputs: teacherOut } = teacherPoints(teacher, batch, this.samplers, iter);
    try {
      const perImage = anchors.findIndex((a) => a.rank === 3);
      if (perImage >= 0) {
        tf.dispose(teacherOut.flatMap((o) => [o.logits, o.boxes]));
        throw new DetkitError(
          'NOT_IMPLEMENTED',
          `kd-detr-hetero: sampler '${this.samplers[perImage]!.name}' gives per-image anchors (the teacher's queries are selected per image, as DINO's); the student's RoIs are shared by the batch: use the general sampler only`,
          { key: 'distill.samplers' },
        );
      }
      // The student needs the boxes on the host (its RoIAlign weights are built there).
      const boxes = await Promise.all(anchors.map(async (a) => {
        const s = tf.sigmoid(a);
        try {
          return (await s.data()) as Float32Array;
        } finally {
          s.dispose();
        }
      }));
      const groups = this.samplers.map((s, i) => ({ name: s.name, boxes: boxes[i]!, teacher: teacherOut[i]! }));
      return { groups, dispose: () => groups.forEach((g) => tf.dispose([g.teacher.logits, g.teacher.boxes])) };
    } finally {
      tf.dispose(anchors);
    }
  }

  losses({ student, outputs, prepared }: LossContext<PreparedBoxes, RoiDistillable, RoiTrainOutputs>): LossTerms {
    if (!outputs || outputs.roiFeatures === undefined) {
      throw new DetkitError('MODEL_CONTRACT', "kd-detr-hetero: the student's forwardTrain did not expose outputs.roiFeatures (RoI contract)");
    }
    const segments = prepared.groups.map((g) => {
      const pred = student.predictAtBoxes(outputs.roiFeatures, { boxes: g.boxes });
      return { teacher: g.teacher, student: studentAtTeacherClass(g.teacher, pred) };
    });
    const terms: LossTerms = {};
    kdSegmentLosses(segments, this.loss).forEach((loss, i) => {
      for (const [t, v] of Object.entries(loss)) terms[`kd_${prepared.groups[i]!.name}_${t}`] = v!;
    });
    return terms;
  }

  expectedTerms(): string[] {
    const active = (['cls', 'l1', 'giou'] as const).filter((t) => this.loss.weights[t] > 0);
    return this.samplers.flatMap((s) => active.map((t) => `kd_${s.name}_${t}`));
  }
}
