import { join } from 'node:path';
import { DetkitError, saveModelOnly, type Batch, type ForwardResult, type ForwardSteps, type Hook, type IterInfo, type LossTerms, type Logger, type RunState } from '@detkit/core';
import type { QueryGroupDetector } from '@detkit/detectors';
import type { AnyDistillMethod, Prepared } from '../methods/method.js';
import { assertCompatible } from '../teacher/load-teacher.js';
import { assertStudentContract, describeModel } from './contract-check.js';

export const KD_HOOK_NAME = 'kd-detr';

export interface KdDetrHookOptions {
  method: AnyDistillMethod;
  /** Builds (and loads, and freezes) the teacher; called once, in beforeRun, with the student's name for messages. Unused by `none`. */
  loadTeacher?: (student: string) => Promise<QueryGroupDetector>;
  /** The teacher as the config names it (its model type or config file), for start-up errors before it is loaded. */
  teacherLabel?: string;
  logger: Logger;
  /** Write `workDir/student.safetensors` (student weights only) at the end. Default true. */
  saveStudent?: boolean;
  /**
   * Distil during the first `until` iterations only, then let the student train alone (no
   * teacher forward, no distillation queries, the student alone's step time). Default: the
   * whole run. Like a step rate schedule, it depends on the iteration only, so a run branched
   * from a constant-distillation run's checkpoint at `until` is the run with `until` set.
   */
  until?: number;
  priority?: number;
}

/**
 * The distillation hook (registry: hook 'kd-detr', built from the config's `distill` section).
 *
 * - beforeRun: loads the teacher, checks both models implement the query-group contract and
 *   agree on classes and box format.
 * - beforeIter (before the tape): the method runs the teacher and keeps what it needs.
 * - afterForward (inside the student's tape): the method returns the distillation terms.
 * - afterIter: checks every configured term was computed, frees the teacher's outputs.
 * - afterRun: saves the student alone.
 *
 * We distil with a hook rather than by wrapping the model (MMRazor's way) because a wrapper
 * cannot add query groups to a decoder; the hook only uses the public query-group contract.
 */
export class KdDetrHook implements Hook {
  readonly name = KD_HOOK_NAME;
  readonly priority: number;
  /** Data-parallel: every rank distils its share of the batch (the loss terms are in the tape); the student is saved by rank 0 (afterRun). */
  readonly everyRank = true;
  readonly method: AnyDistillMethod;
  private teacherModel: QueryGroupDetector | undefined;
  private prepared: Prepared | undefined;
  private expected: string[] = [];

  constructor(private readonly options: KdDetrHookOptions) {
    this.method = options.method;
    this.priority = options.priority ?? 50;
  }

  /** The frozen teacher (after beforeRun), e.g. for tests and the demo. */
  get teacher(): QueryGroupDetector | undefined {
    return this.teacherModel;
  }

  async beforeRun(state: RunState): Promise<void> {
    const student = state.model;
    if (!this.method.needsTeacher) {
      this.options.logger.info(`kd-detr: method 'none': the student trains alone`);
      return;
    }
    if (!this.distilsAt(state.iter)) {
      this.options.logger.info(`kd-detr: resumed at iteration ${state.iter}, past distill.until (${this.options.until}): the teacher is not loaded`);
      return;
    }
    // Before loading the teacher: a student that cannot take this method fails at once.
    assertStudentContract(this.method, student, this.teacherModel ? describeModel(this.teacherModel) : (this.options.teacherLabel ?? 'distill.teacher'));
    if (!this.teacherModel) {
      if (!this.options.loadTeacher) throw new DetkitError('CONFIG_INVALID', `kd-detr: method '${this.method.name}' needs a teacher (distill.teacher)`, { key: 'distill.teacher' });
      this.teacherModel = await this.options.loadTeacher(describeModel(student));
    }
    assertCompatible(this.teacherModel, student as unknown as QueryGroupDetector);
    this.expected = this.method.expectedTerms(student);
    this.options.logger.info(`kd-detr: method '${this.method.name}', ${this.expected.length} loss terms: ${this.expected.join(', ')}`);
  }

  /** Whether the step with 0-based index `step` distils (see `until`). */
  distilsAt(step: number): boolean {
    return this.method.needsTeacher && (this.options.until === undefined || step < this.options.until);
  }

  async beforeIter(state: RunState, batch: Batch): Promise<void> {
    this.release();
    if (!this.distilsAt(state.iter)) {
      if (state.iter === this.options.until) this.options.logger.info(`kd-detr: distilled for ${this.options.until} iterations (distill.until); the student trains alone from here`);
      return;
    }
    if (!this.teacherModel) throw new DetkitError('MODEL_CONTRACT', 'kd-detr: beforeIter before beforeRun (no teacher loaded)');
    this.prepared = await this.method.prepare({ teacher: this.teacherModel, batch, iter: state.iter, student: state.model, replica: state.replica });
  }

  afterForward(state: RunState, batch: Batch, forward: ForwardResult): LossTerms | ForwardSteps<LossTerms> | void {
    if (!this.distilsAt(state.iter)) return;
    if (!this.prepared) throw new DetkitError('MODEL_CONTRACT', `kd-detr: afterForward at iteration ${state.iter} without the teacher's outputs (beforeIter did not run)`);
    return this.method.losses({ student: state.model, outputs: forward.outputs, batch, prepared: this.prepared });
  }

  afterIter(state: RunState, info: IterInfo): void {
    this.release();
    if (!this.distilsAt(info.iter - 1)) return;
    const missing = this.expected.filter((t) => !(`${this.name}.${t}` in info.losses));
    if (missing.length > 0) {
      throw new DetkitError('MODEL_CONTRACT', `kd-detr: configured loss term(s) ${missing.join(', ')} were never computed at iteration ${info.iter}`, { missing });
    }
  }

  async afterRun(state: RunState): Promise<void> {
    this.release();
    if (this.options.saveStudent ?? true) {
      const file = join(state.workDir, 'student.safetensors');
      await saveModelOnly(file, state.model, { kdMethod: this.method.name });
      this.options.logger.info(`kd-detr: student weights saved to ${file}`);
    }
  }

  /** Frees the teacher's outputs of the last iteration (idempotent). */
  release(): void {
    this.prepared?.dispose();
    this.prepared = undefined;
  }

  /** Frees the teacher too (the runner does not own it). */
  dispose(): void {
    this.release();
    this.teacherModel?.dispose();
    this.teacherModel = undefined;
  }
}
