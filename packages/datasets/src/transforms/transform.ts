import type { Rng, Sample } from '../core.js';

/**
 * A sample -> sample function on CPU typed arrays. Randomness comes only from the `rng` argument,
 * so augmentation is a pure function of the seed the loader derives from (seed, epoch, index).
 * Transforms never mutate their input sample.
 */
export interface Transform {
  readonly type: string;
  apply(sample: Sample, rng: Rng): Sample;
}

/** Per-box arrays some datasets add to Sample (e.g. COCO areas) that must follow box edits. */
type WithAreas = Sample & { areas?: Float32Array };

/**
 * Keeps the boxes at `keep` (with new coordinates `boxes`, 4 per kept box) and carries labels,
 * iscrowd and optional areas along; `areaScale[k]` rescales the area of kept box k.
 */
export function withBoxes(sample: Sample, keep: number[], boxes: Float32Array, areaScale?: ArrayLike<number>): Sample {
  const s = sample as WithAreas;
  const out: WithAreas = {
    ...sample,
    boxes,
    labels: Int32Array.from(keep, (i) => sample.labels[i]!),
  };
  if (sample.iscrowd) out.iscrowd = Uint8Array.from(keep, (i) => sample.iscrowd![i]!);
  if (s.areas) out.areas = Float32Array.from(keep, (i, k) => s.areas![i]! * (areaScale ? areaScale[k]! : 1));
  return out;
}

/** Runs transforms in order; each gets its own forked stream so adding one does not reshuffle the others. */
export function applyTransforms(sample: Sample, transforms: readonly Transform[], rng: Rng): Sample {
  let s = sample;
  transforms.forEach((t, i) => {
    s = t.apply(s, rng.fork(`${i}:${t.type}`));
  });
  return s;
}
