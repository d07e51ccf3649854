/**
 * Input and output shapes of the COCO bbox evaluator. Inputs are loose on purpose (extra keys
 * allowed, `area`/`iscrowd` optional) so any COCO-style file can be fed as parsed JSON.
 */

export interface CocoEvalImage {
  id: number;
  [key: string]: unknown;
}

export interface CocoEvalAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, w, h] in pixels. */
  bbox: readonly number[];
  /** Used for the small/medium/large ranges (pycocotools never recomputes it). Defaults to w*h. */
  area?: number;
  /** Truthy = crowd region: ignored for matching, IoU uses the detection's area. Defaults to 0. */
  iscrowd?: number | boolean;
  [key: string]: unknown;
}

export interface CocoEvalCategory {
  id: number;
  name?: string;
  [key: string]: unknown;
}

/** The three lists of a COCO instances file the evaluator reads. */
export interface CocoEvalGroundTruth {
  images: readonly CocoEvalImage[];
  annotations: readonly CocoEvalAnnotation[];
  categories: readonly CocoEvalCategory[];
}

/** One entry of a COCO results file. */
export interface CocoResult {
  image_id: number;
  category_id: number;
  /** [x, y, w, h] in pixels. */
  bbox: readonly number[];
  score: number;
}

/** The 12 summary numbers, in pycocotools' order. */
export const COCO_STAT_KEYS = [
  'AP',
  'AP50',
  'AP75',
  'APs',
  'APm',
  'APl',
  'AR1',
  'AR10',
  'AR100',
  'ARs',
  'ARm',
  'ARl',
] as const;
export type CocoStatKey = (typeof COCO_STAT_KEYS)[number];
export type CocoStats = Record<CocoStatKey, number>;

/** Per-category AP (IoU .50:.95, area all, maxDets 100); -1 when the category has no GT. */
export interface CocoCategoryAp {
  categoryId: number;
  name?: string;
  ap: number;
}

export interface CocoEvalResult {
  /** -1 where undefined (no GT in that setting), as pycocotools prints. */
  stats: CocoStats;
  perCategory: CocoCategoryAp[];
  /** Result entries dropped because their category_id is not in the GT (pycocotools drops them too). */
  droppedResults: number;
  /** The full tables, for callers that want PR curves. */
  tables: CocoEvalTables;
}

/**
 * Accumulated tables, row-major with pycocotools' axis order:
 * precision [T,R,K,A,M], recall [T,K,A,M]; -1 for settings with no GT.
 */
export interface CocoEvalTables {
  iouThresholds: Float64Array;
  recallThresholds: Float64Array;
  catIds: number[];
  precision: Float64Array;
  recall: Float64Array;
}
