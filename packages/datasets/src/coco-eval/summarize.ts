import { AREA_LABELS, IOU_THRESHOLDS, MAX_DETS, A, M, R, T, type AreaLabel } from './params.js';
import type { Accumulated } from './accumulate.js';
import { formatFixedPy } from './format.js';
import { COCO_STAT_KEYS, type CocoStatKey, type CocoStats } from './types.js';

interface StatSpec {
  ap: boolean;
  /** Index into IOU_THRESHOLDS, or undefined for the mean over all ten. */
  iou?: number;
  area: AreaLabel;
  maxDets: number;
}

/** summarize()'s 12 settings, in its order. */
export const STAT_SPECS: Record<CocoStatKey, StatSpec> = {
  AP: { ap: true, area: 'all', maxDets: 100 },
  AP50: { ap: true, iou: 0, area: 'all', maxDets: 100 },
  AP75: { ap: true, iou: 5, area: 'all', maxDets: 100 },
  APs: { ap: true, area: 'small', maxDets: 100 },
  APm: { ap: true, area: 'medium', maxDets: 100 },
  APl: { ap: true, area: 'large', maxDets: 100 },
  AR1: { ap: false, area: 'all', maxDets: 1 },
  AR10: { ap: false, area: 'all', maxDets: 10 },
  AR100: { ap: false, area: 'all', maxDets: 100 },
  ARs: { ap: false, area: 'small', maxDets: 100 },
  ARm: { ap: false, area: 'medium', maxDets: 100 },
  ARl: { ap: false, area: 'large', maxDets: 100 },
};

/** Mean of the entries > -1 (categories with GT); -1 when there are none. */
function meanDefined(values: Iterable<number>): number {
  let sum = 0, n = 0;
  for (const v of values) {
    if (v > -1) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? -1 : sum / n;
}

function* selectPrecision(acc: Accumulated, K: number, spec: StatSpec, onlyK?: number): Generator<number> {
  const a = AREA_LABELS.indexOf(spec.area);
  const m = (MAX_DETS as readonly number[]).indexOf(spec.maxDets);
  const ts = spec.iou === undefined ? [...Array(T).keys()] : [spec.iou];
  for (const t of ts)
    for (let r = 0; r < R; r++)
      for (let k = onlyK ?? 0; k < (onlyK === undefined ? K : onlyK + 1); k++)
        yield acc.precision[(((t * R + r) * K + k) * A + a) * M + m];
}

function* selectRecall(acc: Accumulated, K: number, spec: StatSpec): Generator<number> {
  const a = AREA_LABELS.indexOf(spec.area);
  const m = (MAX_DETS as readonly number[]).indexOf(spec.maxDets);
  const ts = spec.iou === undefined ? [...Array(T).keys()] : [spec.iou];
  for (const t of ts) for (let k = 0; k < K; k++) yield acc.recall[((t * K + k) * A + a) * M + m];
}

export function summarize(acc: Accumulated, K: number): CocoStats {
  const stats = {} as CocoStats;
  for (const key of COCO_STAT_KEYS) {
    const spec = STAT_SPECS[key];
    stats[key] = meanDefined(spec.ap ? selectPrecision(acc, K, spec) : selectRecall(acc, K, spec));
  }
  return stats;
}

/** AP of one category (IoU .50:.95, area all, maxDets 100); -1 if it has no GT. */
export function categoryAp(acc: Accumulated, K: number, k: number): number {
  return meanDefined(selectPrecision(acc, K, STAT_SPECS.AP, k));
}

/** The 12 lines pycocotools prints, same widths and 3 decimals. */
export function formatStats(stats: CocoStats): string[] {
  return COCO_STAT_KEYS.map((key) => {
    const spec = STAT_SPECS[key];
    const title = spec.ap ? 'Average Precision' : 'Average Recall';
    const type = spec.ap ? '(AP)' : '(AR)';
    const iou =
      spec.iou === undefined
        ? `${IOU_THRESHOLDS[0].toFixed(2)}:${IOU_THRESHOLDS[T - 1].toFixed(2)}`
        : IOU_THRESHOLDS[spec.iou].toFixed(2);
    return ` ${title.padEnd(18)} ${type} @[ IoU=${iou.padEnd(9)} | area=${spec.area.padStart(6)} | maxDets=${String(spec.maxDets).padStart(3)} ] = ${formatFixedPy(stats[key], 3)}`;
  });
}
