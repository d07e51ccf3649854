import { DetkitError } from '../errors.js';
import type { Hook } from '../runner/hook.js';

/**
 * Rank 0's hooks, checked for data-parallel training: loss terms added in `afterForward` must be
 * computed on every rank, or the ranks would average different losses. Returns the hooks that
 * run on every rank (ranks >= 1 build the same config and keep those).
 */
export function everyRankHooks(hooks: readonly Hook[]): Hook[] {
  for (const h of hooks) {
    if (h.afterForward && !h.everyRank) {
      throw new DetkitError(
        'CONFIG_INVALID',
        `train.workers: hook '${h.name}' adds loss terms in afterForward but is not marked everyRank, so the other ranks would not compute them; ` +
          `set \`everyRank: true\` on the hook (see Hook.everyRank) or train with train.workers: 1`,
        { key: 'train.workers', hook: h.name },
      );
    }
  }
  return hooks.filter((h) => h.everyRank);
}
