import { DetkitError } from '@detkit/core';
import { checkDeformableOptions, type ResolvedDeformableOptions } from '../deformable-detr/validate.js';
import type { DinoOptions } from './dino.js';

/** DINO's options, resolved to their defaults. */
export interface ResolvedDinoOptions extends ResolvedDeformableOptions {
  denoising: boolean;
  dnNumber: number;
  dnLabelNoise: number;
  dnBoxNoise: number;
  lookForwardTwice: boolean;
}

/**
 * Checks a dino configuration before any weight is built: the Deformable DETR checks (levels,
 * points, heads, ...) under the name `dino`, then the denoising keys. A bad value fails with
 * CONFIG_INVALID naming its key (the CLI exits 3): a denoising budget that is not a positive
 * integer while denoising is on, a negative or non-finite box noise scale, a label noise ratio
 * outside [0, 1].
 */
export function checkDinoOptions(opts: DinoOptions): ResolvedDinoOptions {
  const base = checkDeformableOptions(opts, 'dino');
  const fail = (key: string, what: string): never => {
    throw new DetkitError('CONFIG_INVALID', `dino: '${key}' ${what}`, { key });
  };
  const r: ResolvedDinoOptions = {
    ...base,
    numQueries: opts.numQueries ?? 900,
    denoising: opts.denoising ?? true,
    dnNumber: opts.dnNumber ?? 100,
    dnLabelNoise: opts.dnLabelNoise ?? 0.5,
    dnBoxNoise: opts.dnBoxNoise ?? 0.4,
    lookForwardTwice: opts.lookForwardTwice ?? true,
  };
  if (!(Number.isInteger(r.numQueries) && r.numQueries >= 1)) fail('numQueries', `must be a positive integer, got ${r.numQueries}`);
  if (r.denoising && !(Number.isInteger(r.dnNumber) && r.dnNumber >= 1)) {
    fail('dnNumber', `must be a positive integer (the denoising query budget: groups = dnNumber / the batch's largest box count) while denoising is on, got ${r.dnNumber}; set 'denoising: false' to train without it`);
  }
  if (!(Number.isFinite(r.dnBoxNoise) && r.dnBoxNoise >= 0)) fail('dnBoxNoise', `must be a finite number >= 0 (box noise scale, reference 0.4), got ${r.dnBoxNoise}`);
  if (!(Number.isFinite(r.dnLabelNoise) && r.dnLabelNoise >= 0 && r.dnLabelNoise <= 1)) fail('dnLabelNoise', `must be in [0, 1] (label noise ratio, reference 0.5), got ${r.dnLabelNoise}`);
  return r;
}
