import { DetkitError, formatValue } from '@detkit/core';
import type { CocoEvalAnnotation, CocoEvalGroundTruth, CocoResult } from './types.js';

/**
 * GT and results regrouped by (category, image) into flat typed arrays. Group g = k * I + i
 * (category-major, images in sorted id order: the order accumulate() concatenates them in);
 * inside a group, GT and detections keep the order pycocotools loads them in.
 */
export interface CocoIndex {
  imgIds: number[];
  catIds: number[];
  /** [K*I + 1] CSR offsets into the gt* arrays. */
  gtStart: Int32Array;
  gtBox: Float64Array;
  gtArea: Float64Array;
  gtCrowd: Uint8Array;
  /** 0 when the annotation id is 0: pycocotools stores matches as ids and reads 0 as "unmatched". */
  gtIdTruthy: Uint8Array;
  /** [K*I + 1] CSR offsets into the dt* arrays. */
  dtStart: Int32Array;
  dtBox: Float64Array;
  dtArea: Float64Array;
  dtScore: Float64Array;
  droppedResults: number;
}

function sortedUnique(values: Iterable<number>): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

function indexMap(ids: number[]): Map<number, number> {
  const m = new Map<number, number>();
  ids.forEach((id, i) => m.set(id, i));
  return m;
}

const show = (v: unknown): string => formatValue(v, 80);

function checkBox(bbox: unknown, where: string): readonly number[] {
  if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new DetkitError('INVALID_ARGUMENT', `${where}: bbox must be [x, y, w, h] of 4 finite numbers, got ${show(bbox)}`, { where });
  }
  // An empty box (w or h = 0) is scored like pycocotools does; a negative size is not a box.
  if (bbox[2] < 0 || bbox[3] < 0) {
    throw new DetkitError('INVALID_ARGUMENT', `${where}: bbox ${show(bbox)} has a negative width or height`, { where });
  }
  return bbox as number[];
}

function checkList(value: unknown, where: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new DetkitError('INVALID_ARGUMENT', `${where} must be an array, got ${typeof value}`, { where });
  return value;
}

function checkObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DetkitError('INVALID_ARGUMENT', `${where} must be an object, got ${show(value)}`, { where });
  }
  return value as Record<string, unknown>;
}

function checkNumber(obj: Record<string, unknown>, key: string, where: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new DetkitError('INVALID_ARGUMENT', `${where}.${key} must be a finite number, got ${show(v)}`, { where, key });
  }
  return v;
}

/** Fills CSR offsets from per-group counts (in place: counts -> start offsets). */
function toOffsets(counts: Int32Array): Int32Array {
  const start = new Int32Array(counts.length + 1);
  for (let g = 0; g < counts.length; g++) start[g + 1] = start[g] + counts[g];
  return start;
}

/**
 * GT annotations in pycocotools' load order: images in sorted id order, each image's
 * annotations in file order, category filtered; then resolved by id (its `anns` dict keeps the
 * last annotation of a repeated id, so a repeated id loads that last one twice).
 */
function loadGtInOrder(gt: CocoEvalGroundTruth, imgIds: number[], catSet: Set<number>): CocoEvalAnnotation[] {
  const anns = checkList(gt.annotations, 'ground truth "annotations"') as CocoEvalAnnotation[];
  const byImage = new Map<number, CocoEvalAnnotation[]>();
  const byId = new Map<unknown, CocoEvalAnnotation>();
  anns.forEach((raw, n) => {
    const where = `ground truth annotations[${n}]`;
    const ann = checkObject(raw, where) as CocoEvalAnnotation;
    checkNumber(ann, 'image_id', where);
    checkNumber(ann, 'category_id', where);
    checkBox(ann.bbox, where);
    let list = byImage.get(ann.image_id);
    if (!list) byImage.set(ann.image_id, (list = []));
    list.push(ann);
    byId.set(ann.id, ann);
  });
  const out: CocoEvalAnnotation[] = [];
  for (const img of imgIds) {
    for (const ann of byImage.get(img) ?? []) {
      if (catSet.has(ann.category_id)) out.push(ann.id === undefined ? ann : (byId.get(ann.id) ?? ann));
    }
  }
  return out;
}

export function prepareCocoIndex(gt: CocoEvalGroundTruth, results: readonly CocoResult[]): CocoIndex {
  checkObject(gt, 'ground truth');
  const images = checkList(gt.images, 'ground truth "images"');
  const categories = checkList(gt.categories, 'ground truth "categories"');
  const imgIds = sortedUnique(images.map((im, n) => checkNumber(checkObject(im, `ground truth images[${n}]`), 'id', `ground truth images[${n}]`)));
  const catIds = sortedUnique(categories.map((c, n) => checkNumber(checkObject(c, `ground truth categories[${n}]`), 'id', `ground truth categories[${n}]`)));
  const imgIndex = indexMap(imgIds);
  const catIndex = indexMap(catIds);
  const I = imgIds.length;
  const groups = catIds.length * I;
  const groupOf = (imageId: number, categoryId: number): number => {
    const i = imgIndex.get(imageId);
    const k = catIndex.get(categoryId);
    return i === undefined || k === undefined ? -1 : k * I + i;
  };

  // Ground truth.
  const gts = loadGtInOrder(gt, imgIds, new Set(catIds));
  const gtGroup = new Int32Array(gts.length);
  const gtCounts = new Int32Array(groups);
  gts.forEach((ann, n) => {
    gtGroup[n] = groupOf(ann.image_id, ann.category_id);
    if (gtGroup[n] >= 0) gtCounts[gtGroup[n]]++;
  });
  const gtStart = toOffsets(gtCounts);
  const NG = gtStart[groups];
  const gtBox = new Float64Array(4 * NG);
  const gtArea = new Float64Array(NG);
  const gtCrowd = new Uint8Array(NG);
  const gtIdTruthy = new Uint8Array(NG);
  const gtFill = gtStart.slice(0, groups);
  gts.forEach((ann, n) => {
    const g = gtGroup[n];
    if (g < 0) return;
    const j = gtFill[g]++;
    const b = ann.bbox;
    gtBox.set(b, 4 * j);
    gtArea[j] = typeof ann.area === 'number' ? ann.area : b[2] * b[3];
    gtCrowd[j] = ann.iscrowd ? 1 : 0;
    gtIdTruthy[j] = ann.id === 0 ? 0 : 1;
  });

  // Results: pycocotools asserts their image ids are GT images; unknown categories are dropped.
  const res = checkList(results, 'results') as CocoResult[];
  const dtGroup = new Int32Array(res.length);
  const dtCounts = new Int32Array(groups);
  let droppedResults = 0;
  res.forEach((raw, n) => {
    const where = `results[${n}]`;
    const r = checkObject(raw, where);
    const imageId = checkNumber(r, 'image_id', where);
    const categoryId = checkNumber(r, 'category_id', where);
    checkNumber(r, 'score', where);
    checkBox(r.bbox, where);
    if (!imgIndex.has(imageId)) {
      throw new DetkitError(
        'INVALID_ARGUMENT',
        `${where}: image_id ${imageId} is not an image of the ground truth (results must refer to GT images)`,
        { where, image_id: imageId },
      );
    }
    const g = groupOf(imageId, categoryId);
    dtGroup[n] = g;
    if (g < 0) droppedResults++;
    else dtCounts[g]++;
  });
  const dtStart = toOffsets(dtCounts);
  const ND = dtStart[groups];
  const dtBox = new Float64Array(4 * ND);
  const dtArea = new Float64Array(ND);
  const dtScore = new Float64Array(ND);
  const dtFill = dtStart.slice(0, groups);
  res.forEach((r, n) => {
    const g = dtGroup[n];
    if (g < 0) return;
    const j = dtFill[g]++;
    const b = r.bbox;
    dtBox.set(b, 4 * j);
    dtArea[j] = b[2] * b[3];
    dtScore[j] = r.score;
  });

  return { imgIds, catIds, gtStart, gtBox, gtArea, gtCrowd, gtIdTruthy, dtStart, dtBox, dtArea, dtScore, droppedResults };
}
