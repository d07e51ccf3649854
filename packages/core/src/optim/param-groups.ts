import type * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../errors.js';
import type { ParamGroupConfig } from './optimizer.js';

/** One parameter with the hyper-parameters its group gives it. */
export interface ResolvedParam {
  name: string;
  variable: tf.Variable;
  lrMult: number;
  weightDecay: number;
}

/** Assigns each parameter its group's lrMult / weightDecay (first matching group wins). */
export function resolveParamGroups(
  params: Array<[string, tf.Variable]>,
  groups: ParamGroupConfig[] | undefined,
  defaultWeightDecay: number,
): ResolvedParam[] {
  const seen = new Set<string>();
  for (const [i, g] of (groups ?? []).entries()) {
    if (g.lrMult !== undefined && !(g.lrMult >= 0 && Number.isFinite(g.lrMult))) {
      throw new DetkitError('CONFIG_INVALID', `optimizer.paramGroups.${i}.lrMult must be a finite number >= 0, got ${g.lrMult}`);
    }
    if (g.weightDecay !== undefined && !(g.weightDecay >= 0 && Number.isFinite(g.weightDecay))) {
      throw new DetkitError('CONFIG_INVALID', `optimizer.paramGroups.${i}.weightDecay must be a finite number >= 0, got ${g.weightDecay}`);
    }
  }
  return params.map(([name, variable]) => {
    if (seen.has(name)) throw new DetkitError('INVALID_ARGUMENT', `optimizer: parameter '${name}' listed twice`);
    seen.add(name);
    const g = groups?.find((grp) => (typeof grp.match === 'string' ? name.startsWith(grp.match) : grp.match.test(name)));
    return { name, variable, lrMult: g?.lrMult ?? 1, weightDecay: g?.weightDecay ?? defaultWeightDecay };
  });
}
