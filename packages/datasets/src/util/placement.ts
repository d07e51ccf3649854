// Shared by the synthetic datasets (mnist-detection, shapes): random placement of a patch on a
// square canvas under an overlap cap, and the Sample a finished canvas becomes. Both datasets
// are pure functions of their seed, so the order of RNG draws here is part of the data: do not
// reorder them (checkpoints are trained and evaluated on this exact data).
import type { Rng, Sample } from '../core.js';
import { intersectionOverSmaller, type Box } from './boxes.js';

export interface PlacementOptions {
  /** Square canvas side in pixels. */
  canvasSize: number;
  /** Patch height and width in pixels (at most canvasSize). */
  height: number;
  width: number;
  /** The object's tight box inside the patch, patch-relative [x0, y0, x1, y1). */
  ink: Box;
  /** Largest intersection over the smaller box allowed with any placed box. */
  maxOverlap: number;
  /** Random positions tried before giving up. */
  tries: number;
  /** Pixels the candidate box is grown by for the overlap test only (1 keeps objects from touching). Default 0. */
  margin?: number;
}

/**
 * Draws up to `tries` top-left corners (x then y, each uniform over the positions that keep the
 * patch on the canvas) and returns the first whose canvas box passes the overlap cap against every
 * box in `placed`, or undefined when none does. The returned box is not grown by `margin`.
 */
export function placeWithoutOverlap(rng: Rng, placed: readonly Box[], o: PlacementOptions): { x: number; y: number; box: Box } | undefined {
  const m = o.margin ?? 0;
  for (let t = 0; t < o.tries; t++) {
    const x = rng.int(o.canvasSize - o.width + 1);
    const y = rng.int(o.canvasSize - o.height + 1);
    const box: Box = [x + o.ink[0], y + o.ink[1], x + o.ink[2], y + o.ink[3]];
    const test: Box = m === 0 ? box : [box[0] - m, box[1] - m, box[2] + m, box[3] + m];
    if (placed.some((b) => intersectionOverSmaller(b, test) > o.maxOverlap)) continue;
    return { x, y, box };
  }
  return undefined;
}

/** How many objects image gets: uniform over the inclusive range [lo, hi] (one RNG draw). */
export function objectCount(rng: Rng, [lo, hi]: readonly [number, number]): number {
  return lo + rng.int(hi - lo + 1);
}

/** The Sample of a finished S x S RGB canvas (HWC floats) with its boxes and labels; imageId = index + 1. */
export function canvasSample(image: Float32Array, canvasSize: number, boxes: readonly Box[], labels: readonly number[], index: number): Sample {
  return {
    image,
    height: canvasSize,
    width: canvasSize,
    channels: 3,
    boxes: Float32Array.from(boxes.flat()),
    labels: Int32Array.from(labels),
    iscrowd: new Uint8Array(labels.length),
    imageId: index + 1,
  };
}
