import type { Batch, ForwardSteps, LossTerms, ReplicaContext } from '@detkit/core';
import type { QueryGroupDetector, QueryGroupTrainOutputs } from '@detkit/detectors';

/** What a method computed from the teacher before the tape; kept until the iteration ends. */
export interface Prepared {
  dispose(): void;
}

/**
 * What a method needs of the student: a DETR that decodes query groups (the homogeneous
 * methods), or a CNN detector that predicts at given boxes (the RoI contract, kd-detr-hetero).
 */
export type StudentContract = 'query-groups' | 'roi';

export interface PrepareContext<S = QueryGroupDetector> {
  teacher: QueryGroupDetector;
  batch: Batch;
  /** Index of the iteration about to run (0-based): general points are a function of it. */
  iter: number;
  /** The student (e.g. its query count), not yet in the tape. */
  student?: S;
  /**
   * Data-parallel training: `batch` is this rank's share, and the loss's normalisers must be
   * summed over ranks here, before the tape (`kdGlobalSums`). Absent or worldSize 1: one process.
   */
  replica?: ReplicaContext;
}

export interface LossContext<P extends Prepared = Prepared, S = QueryGroupDetector, O = QueryGroupTrainOutputs> {
  student: S;
  outputs: O;
  batch: Batch;
  prepared: P;
}

/**
 * A distillation method (kind 'distill-method'): `kd-detr` (consistent points), the baselines
 * `hungarian-logits` (inconsistent points) and `none`. The hook owns the teacher and the
 * timing; a method says what the teacher computes and which loss terms come out of it.
 *
 * `prepare` runs in `beforeIter`, OUTSIDE the student's gradient tape (teacher forward never
 * taped); `losses` runs in `afterForward`, inside the tape, synchronously; a method that must
 * see student values on the host returns ForwardSteps (the runner reads them asynchronously).
 */
export interface DistillMethod<P extends Prepared = Prepared, S = QueryGroupDetector, O = QueryGroupTrainOutputs> {
  readonly name: string;
  /** False for `none`: no teacher is loaded and no term is produced. */
  readonly needsTeacher: boolean;
  /** The student contract the method uses; the hook checks it at start. Default 'query-groups'. */
  readonly studentContract?: StudentContract;
  prepare(ctx: PrepareContext<S>): Promise<P>;
  losses(ctx: LossContext<P, S, O>): LossTerms | ForwardSteps<LossTerms>;
  /** Every term `losses` must produce for this student (a missing one is an error). */
  expectedTerms(student: S): string[];
}

/** A method of any student contract, as the hook and the registry hold it (the hook checks the contract at start). */
export type AnyDistillMethod = DistillMethod<Prepared, unknown, unknown>;
