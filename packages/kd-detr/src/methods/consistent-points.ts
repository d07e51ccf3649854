import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, type LossTerms } from '@detkit/core';
import type { QueryGroup, QueryGroupDetector } from '@detkit/detectors';
import { kdGlobalSums, kdLocalSums } from '../loss/global-sums.js';
import { kdGroupsLosses, kdGroupTermNames, type PointOutputs, type ResolvedKdLossOptions } from '../loss/kd-loss.js';
import type { KdGlobalSums } from '../loss/segment-loss.js';
import type { QuerySampler } from '../samplers/sampler.js';
import { isProposalSampler } from '../samplers/proposals.js';
import type { DistillMethod, LossContext, PrepareContext, Prepared } from './method.js';
import { teacherPoints } from './teacher-points.js';
import type { PointAnchors } from '../samplers/sampler.js';
import { contentOf, pointGroup } from './point-group.js';

/** Per iteration: the shared anchors of every group and the teacher's final-layer outputs there. */
export interface PreparedPoints extends Prepared {
  groups: Array<{ name: string; anchors: PointAnchors; teacher: PointOutputs; global?: KdGlobalSums }>;
}

/**
 * KD-DETR proper: each sampler's points form one isolated query group that teacher and
 * student both decode, so output i of the student imitates output i of the teacher.
 * The teacher encodes once and decodes all groups in one pass, before the tape; the student
 * decodes the same anchors on its already-computed `outputs.encoded` (no re-encoding), inside.
 */
export class ConsistentPointsDistillation implements DistillMethod<PreparedPoints> {
  readonly name = 'kd-detr';
  readonly needsTeacher = true;

  constructor(
    readonly samplers: readonly QuerySampler[],
    readonly loss: ResolvedKdLossOptions,
  ) {
    if (samplers.length === 0) throw new DetkitError('CONFIG_INVALID', 'distill.samplers: kd-detr needs at least one sampler (e.g. [{ type: "general" }, { type: "specific" }])', { key: 'distill.samplers' });
    const seen = new Set<string>();
    for (const s of samplers) {
      if (seen.has(s.name)) {
        throw new DetkitError('CONFIG_INVALID', `distill.samplers: two samplers are named '${s.name}' (their loss terms would collide); give one a distinct \`name\``, { key: 'distill.samplers' });
      }
      seen.add(s.name);
      if (isProposalSampler(s)) s.sample(); // throws: a DETR student has no proposals (names the sampler)
    }
  }

  async prepare({ teacher, batch, iter, replica }: PrepareContext): Promise<PreparedPoints> {
    // The teacher's graph is built here, outside any tape, and freed by a tidy: only the
    // anchors and the final-layer outputs survive.
    const { anchors, outputs: teacherOut } = teacherPoints(teacher, batch, this.samplers, iter);
    const dispose = () => tf.dispose(anchors);
    const groups = this.samplers.map((s, i) => ({ name: s.name, anchors: anchors[i]!, teacher: teacherOut[i]!, global: undefined as KdGlobalSums | undefined }));
    const prepared = {
      groups,
      dispose: () => {
        dispose();
        for (const g of groups) tf.dispose([g.teacher.logits, g.teacher.boxes]);
      },
    };
    if (replica && replica.worldSize > 1) {
      try {
        // Data-parallel: each group's weight sum and point count over the global batch.
        const local = await Promise.all(groups.map((g) => kdLocalSums(g.teacher.logits, this.loss.foregroundWeighting)));
        kdGlobalSums(local, replica)!.forEach((sums, i) => (groups[i]!.global = sums));
      } catch (e) {
        prepared.dispose();
        throw e;
      }
    }
    return prepared;
  }

  losses({ student, outputs, prepared }: LossContext<PreparedPoints>): LossTerms {
    if (!outputs?.encoded) {
      throw new DetkitError('MODEL_CONTRACT', 'kd-detr: the student\'s forwardTrain did not expose outputs.encoded (query-group contract rule 5)');
    }
    const { encoded } = outputs;
    const ownContent = contentOf(student, encoded);
    const { groups } = student.decode(encoded, prepared.groups.map((g, i): QueryGroup => pointGroup(g.anchors, this.samplers[i]!.content, ownContent)), { detection: false });
    return kdGroupsLosses(prepared.groups.map((g, i) => ({ name: g.name, teacher: g.teacher, student: groups[i]!, global: g.global })), this.loss);
  }

  expectedTerms(student: QueryGroupDetector): string[] {
    return this.samplers.flatMap((s) => kdGroupTermNames(s.name, student.numDecoderLayers, this.loss));
  }
}
