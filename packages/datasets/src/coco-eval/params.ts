/**
 * pycocotools' default bbox parameters. The thresholds are built the way np.linspace builds
 * them (i*step + start, last element set to stop) so every float equals the reference's bit
 * for bit: 0.9 comes out as 0.8999999999999999 there, and a match at IoU exactly 0.9 depends on it.
 */

function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** .50:.05:.95, T = 10. */
export const IOU_THRESHOLDS = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
/** 0:.01:1, R = 101. */
export const REC_THRESHOLDS = linspace(0, 1, Math.round((1 - 0) / 0.01) + 1);
/** Sorted, as evaluate() sorts them; the last one is the matching budget per image. */
export const MAX_DETS = [1, 10, 100] as const;

/** [lo, hi] inclusive at both ends, on the GT `area` field and the detection's w*h. */
export const AREA_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0 ** 2, 1e5 ** 2],
  [0 ** 2, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e5 ** 2],
];
export const AREA_LABELS = ['all', 'small', 'medium', 'large'] as const;
export type AreaLabel = (typeof AREA_LABELS)[number];

/** numpy's np.spacing(1): added to the precision denominator exactly as the reference does. */
export const EPS = 2.220446049250313e-16;

export const T = IOU_THRESHOLDS.length;
export const R = REC_THRESHOLDS.length;
export const A = AREA_RANGES.length;
export const M = MAX_DETS.length;
