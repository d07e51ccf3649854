import type { Batch } from './types.js';

/**
 * What a loss that sums over the batch divides by, so that data-parallel training computes the
 * global batch's gradient: for a whole batch `max(1, local)` (DETR's `num_boxes`); on a rank's
 * share `max(1, global) / worldSize`. Each rank's loss is then `sum_rank * W / N_global`, and the
 * mean of the ranks' gradients, which the all-reduce takes, is `sum_all / N_global`, the
 * gradient of the global batch whatever the shares' sizes (the reference's all-reduced
 * `num_boxes / world_size`).
 */
export function lossNormalizer(batch: Pick<Batch, 'global'>, local: number, what: 'boxes' | 'images'): number {
  const g = batch.global;
  if (!g) return Math.max(1, local);
  return Math.max(1, g[what]) / g.worldSize;
}
