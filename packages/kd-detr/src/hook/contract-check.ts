import { DetkitError } from '@detkit/core';
import { isQueryGroupDetector, isRoiDistillable } from '@detkit/detectors';
import type { StudentContract } from '../methods/method.js';

/**
 * Start-up checks that teacher, student and method fit together, failing with a message that
 * names both models and what is missing: a CNN student with a method that needs query groups,
 * a DETR student with the RoI method, a CNN teacher (every method decodes the teacher's
 * queries, so the teacher must be a DETR).
 */

const QUERY_GROUP_MEMBERS = ['encode', 'decode', 'detectionQueries'] as const;
const ROI_MEMBERS = ['predictAtBoxes'] as const;

/** A model's name for messages: its class and which contract it implements. */
export function describeModel(m: unknown): string {
  const cls = (m as object | null)?.constructor?.name ?? typeof m;
  const kind = isQueryGroupDetector(m) ? 'a DETR: query-group contract' : isRoiDistillable(m) ? 'a CNN detector: RoI contract' : 'neither distillation contract';
  return `${cls} (${kind})`;
}

function missing(m: unknown, members: readonly string[]): string[] {
  return members.filter((k) => typeof (m as Record<string, unknown> | null)?.[k] !== 'function');
}

/** The student must implement the contract the method distils through. */
export function assertStudentContract(method: { name: string; studentContract?: StudentContract }, student: unknown, teacher: string): void {
  const needs = method.studentContract ?? 'query-groups';
  if (needs === 'query-groups' && !isQueryGroupDetector(student)) {
    const hint = isRoiDistillable(student) ? ` For a CNN student choose method 'kd-detr-hetero' (distillation points as RoIs).` : '';
    throw new DetkitError(
      'MODEL_CONTRACT',
      `kd-detr: method '${method.name}' distils through query groups, but the student ${describeModel(student)} lacks ${missing(student, QUERY_GROUP_MEMBERS).join(', ') || 'the query-group members'} ` +
        `(teacher: ${teacher}).${hint}`,
      { key: 'distill.method', student: describeModel(student), teacher },
    );
  }
  if (needs === 'roi' && !isRoiDistillable(student)) {
    const hint = isQueryGroupDetector(student) ? ` For a DETR student choose method 'kd-detr'.` : '';
    throw new DetkitError(
      'MODEL_CONTRACT',
      `kd-detr: method '${method.name}' distils a DETR teacher into a CNN student through RoIs, but the student ${describeModel(student)} lacks ${missing(student, ROI_MEMBERS).join(', ') || 'the RoI contract'} ` +
        `(teacher: ${teacher}).${hint}`,
      { key: 'distill.method', student: describeModel(student), teacher },
    );
  }
}

/** Why a teacher cannot teach (it must decode query groups, whatever the student); undefined when it can. */
export function teacherContractError(teacher: unknown, teacherType: string, student: string): DetkitError | undefined {
  if (isQueryGroupDetector(teacher)) return undefined;
  const cnn = isRoiDistillable(teacher) ? ' A CNN detector can be distilled into (method kd-detr-hetero) but cannot teach here.' : '';
  return new DetkitError(
    'MODEL_CONTRACT',
    `kd-detr: the teacher '${teacherType}' ${describeModel(teacher)} lacks ${missing(teacher, QUERY_GROUP_MEMBERS).join(', ') || 'the query-group members'}: ` +
      `every KD-DETR method decodes the distillation points through the teacher's decoder, so the teacher must implement the query-group contract (student: ${student}).${cnn}`,
    { key: 'distill.teacher', teacher: teacherType, student },
  );
}
