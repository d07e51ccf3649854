import { DetkitError, isDetkitError } from '../errors.js';

/**
 * Names the iteration in a LOSS_NOT_FINITE error (a NaN loss term from the step, NaN
 * predictions from a matcher, NaN weights refused by a checkpoint save), which the code
 * that detects it does not know. Other errors pass through unchanged.
 */
export function divergedAt(e: unknown, iter: number): unknown {
  if (!isDetkitError(e, 'LOSS_NOT_FINITE') || e.details?.iter !== undefined) return e;
  const what = e.message.replace(/^Training diverged: /, '');
  return new DetkitError('LOSS_NOT_FINITE', `Training diverged at iteration ${iter}: ${what}`, { ...e.details, iter }, { cause: e });
}
