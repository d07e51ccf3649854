import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '@detkit/core';
import { MASKED } from './group-mask.js';

/**
 * How the queries of ONE decoder pass attend to each other in self-attention: contiguous
 * blocks of `sizes` (sum N), and for block i the blocks it may see, `visible[i]` (it must
 * include i). Without `visible` every block sees only itself (block-diagonal: the plugin
 * groups' isolation). Cross-attention to the memory is per query and unaffected.
 *
 * A detector's own extra queries may attend in any layout it declares (DINO's denoising
 * groups see themselves and the detection queries; the detection queries do not see them);
 * a plugin's query groups are always isolated: `composeLayout` appends them as blocks that
 * see only themselves and that no other block lists.
 */
export interface AttentionLayout {
  sizes: readonly number[];
  visible?: ReadonlyArray<readonly number[]>;
}

/** Checks a layout: non-negative integer sizes, `visible[i]` ascending, in range, containing i. */
export function checkLayout(layout: AttentionLayout, where = 'attention layout'): void {
  const n = layout.sizes.length;
  for (const s of layout.sizes) if (!Number.isInteger(s) || s < 0) throw new DetkitError('INVALID_ARGUMENT', `${where}: block size ${s} is not a non-negative integer`);
  if (!layout.visible) return;
  if (layout.visible.length !== n) throw new DetkitError('INVALID_ARGUMENT', `${where}: ${layout.visible.length} visibility lists for ${n} blocks`);
  layout.visible.forEach((v, i) => {
    if (!v.includes(i)) throw new DetkitError('INVALID_ARGUMENT', `${where}: block ${i} must see itself (visible [${v}])`);
    v.forEach((j, k) => {
      if (!Number.isInteger(j) || j < 0 || j >= n || (k > 0 && j <= v[k - 1]!)) {
        throw new DetkitError('INVALID_ARGUMENT', `${where}: block ${i} lists [${v}]: need ascending block indices in [0, ${n})`);
      }
    });
  });
}

/**
 * The layout of one decode pass: the detector's own part (its extra blocks and its detection
 * queries, in the order and layout it declares; `undefined`: the detection queries alone, as
 * one block of `detection` queries, or nothing when `detection` is 0) followed by the plugin's
 * `groups`, each isolated.
 */
export function composeLayout(own: AttentionLayout | undefined, detection: number, groups: readonly number[]): AttentionLayout {
  const head: AttentionLayout = own ?? { sizes: detection > 0 ? [detection] : [] };
  if (own) checkLayout(own, 'own query layout');
  const k = head.sizes.length;
  const sizes = [...head.sizes, ...groups];
  if (!head.visible) return { sizes };
  return { sizes, visible: [...head.visible, ...groups.map((_, i) => [k + i])] };
}

/** Whether every block sees only itself (no `visible`, or each list is just the block). */
export function isBlockDiagonal(layout: AttentionLayout): boolean {
  return !layout.visible || layout.visible.every((v, i) => v.length === 1 && v[0] === i);
}

/** The layout without its zero-size blocks (indices renumbered). */
export function dropEmptyBlocks(layout: AttentionLayout): AttentionLayout {
  const keep = layout.sizes.map((s, i) => (s > 0 ? i : -1)).filter((i) => i >= 0);
  if (keep.length === layout.sizes.length) return layout;
  const index = new Map(keep.map((old, i) => [old, i]));
  return {
    sizes: keep.map((i) => layout.sizes[i]!),
    visible: layout.visible && keep.map((i) => layout.visible![i]!.filter((j) => index.has(j)).map((j) => index.get(j)!)),
  };
}

/**
 * Blocks that see only themselves and that no other block sees: they can attend on their own
 * (`true`), the rest (`false`) attend together under a mask.
 */
export function isolatedBlocks(layout: AttentionLayout): boolean[] {
  const n = layout.sizes.length;
  if (!layout.visible) return Array.from({ length: n }, () => true);
  const seenByOther = new Array<boolean>(n).fill(false);
  layout.visible.forEach((v, i) => v.forEach((j) => j !== i && (seenByOther[j] = true)));
  return layout.visible.map((v, i) => v.length === 1 && !seenByOther[i]);
}

/** The dense `[N,N]` additive mask of a layout as host values: 0 where row i may attend column j, MASKED elsewhere. */
export function layoutMaskValues(layout: AttentionLayout): Float32Array {
  const n = layout.sizes.reduce((s, v) => s + v, 0);
  const starts: number[] = [];
  layout.sizes.reduce((s, v) => (starts.push(s), s + v), 0);
  const m = new Float32Array(n * n).fill(MASKED);
  layout.sizes.forEach((si, i) => {
    const sees = layout.visible ? layout.visible[i]! : [i];
    for (let r = starts[i]!; r < starts[i]! + si; r++) for (const j of sees) m.fill(0, r * n + starts[j]!, r * n + starts[j]! + layout.sizes[j]!);
  });
  return m;
}

/** `layoutMaskValues` as a `[N,N]` tensor. */
export function layoutMask(layout: AttentionLayout): tf.Tensor2D {
  const n = layout.sizes.reduce((s, v) => s + v, 0);
  return tf.tensor2d(layoutMaskValues(layout), [n, n]);
}
