import type { Batch, ForwardSteps, LossTerms, ReplicaContext } from '@detkit/core';
import type { QueryGroupDetector, QueryGroupTrainOutputs } from '@detkit/detectors';

/** What a method computed from the teacher before the tape; kept until the iteration ends. */
export interface Prepared {
  dispose(): void;
}

export interface PrepareContext {
  teacher: QueryGroupDetector;
  batch: Batch;
  /** Index of the iteration about to run (0-based): general points are a function of it. */
  iter: number;
  /** The student (e.g. its query count), not yet in the tape. */
  student?: QueryGroupDetector;
  /**
   * Data-parallel training: `batch` is this rank's share, and the loss's normalisers must be
   * summed over ranks here, before the tape (`kdGlobalSums`). Absent or worldSize 1: one process.
   */
  replica?: ReplicaContext;
}

export interface LossContext<P extends Prepared = Prepared> {
  student: QueryGroupDetector;
  outputs: QueryGroupTrainOutputs;
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
export interface DistillMethod<P extends Prepared = Prepared> {
  readonly name: string;
  /** False for `none`: no teacher is loaded and no term is produced. */
  readonly needsTeacher: boolean;
  prepare(ctx: PrepareContext): Promise<P>;
  losses(ctx: LossContext<P>): LossTerms | ForwardSteps<LossTerms>;
  /** Every term `losses` must produce for this student (a missing one is an error). */
  expectedTerms(student: QueryGroupDetector): string[];
}
