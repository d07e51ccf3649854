import { DetkitError, type Dataset, type Detection, type Sample } from '@detkit/core';
import type { CocoEvalAnnotation, CocoEvalGroundTruth, CocoEvalImage, CocoResult } from './types.js';

/**
 * Optional extras a dataset may expose so evaluation reproduces its original COCO ids and
 * areas. Neither is part of core's contract; datasets without them get ids label+1 and w*h.
 */
export interface CocoEvalDatasetExtras {
  /** COCO category id of each contiguous label (index = label). */
  categoryIds?: readonly number[];
}
export interface CocoEvalSampleExtras {
  /** [N] annotation areas as the source file gives them (e.g. COCO's segmentation areas). */
  areas?: Float32Array | Float64Array;
}

/** Category id of each label: the dataset's map if it has one, else label + 1. */
export function categoryIdsOf(dataset: Dataset & CocoEvalDatasetExtras): number[] {
  const n = dataset.classNames.length;
  const ids = dataset.categoryIds;
  if (ids === undefined) return Array.from({ length: n }, (_, l) => l + 1);
  if (ids.length !== n) {
    throw new DetkitError('DATASET_INVALID', `dataset categoryIds has ${ids.length} entries but classNames has ${n}`, {
      categoryIds: ids.length,
      classNames: n,
    });
  }
  return [...ids];
}

/** Builds the COCO GT object from every sample (boxes xyxy -> xywh, crowd flags, areas). */
export async function datasetToCocoGroundTruth(dataset: Dataset & CocoEvalDatasetExtras): Promise<CocoEvalGroundTruth> {
  const catIds = categoryIdsOf(dataset);
  const images: CocoEvalImage[] = [];
  const annotations: CocoEvalAnnotation[] = [];
  for (let i = 0; i < dataset.length; i++) {
    const s = (await dataset.get(i)) as Sample & CocoEvalSampleExtras;
    images.push({ id: s.imageId, width: s.width, height: s.height });
    for (let j = 0; j < s.labels.length; j++) {
      const label = s.labels[j];
      if (!(label >= 0 && label < catIds.length)) {
        throw new DetkitError('DATASET_INVALID', `sample ${i} (imageId ${s.imageId}): label ${label} outside [0, ${catIds.length})`, {
          index: i,
          imageId: s.imageId,
          label,
        });
      }
      const [x1, y1, x2, y2] = [s.boxes[4 * j], s.boxes[4 * j + 1], s.boxes[4 * j + 2], s.boxes[4 * j + 3]];
      const w = x2 - x1, h = y2 - y1;
      annotations.push({
        id: annotations.length + 1, // never 0: pycocotools reads a match to id 0 as no match
        image_id: s.imageId,
        category_id: catIds[label],
        bbox: [x1, y1, w, h],
        area: s.areas ? s.areas[j] : w * h,
        iscrowd: s.iscrowd?.[j] ? 1 : 0,
      });
    }
  }
  const categories = catIds.map((id, l) => ({ id, name: dataset.classNames[l] }));
  return { images, annotations, categories };
}

/** Detections (xyxy, contiguous labels) as COCO results entries. */
export function detectionsToCocoResults(detections: readonly Detection[], categoryIds?: readonly number[]): CocoResult[] {
  return detections.map((d, n) => {
    const category = categoryIds ? categoryIds[d.label] : d.label + 1;
    if (category === undefined) {
      throw new DetkitError('INVALID_ARGUMENT', `detection ${n}: label ${d.label} has no category id`, { index: n, label: d.label });
    }
    const [x1, y1, x2, y2] = d.box;
    return { image_id: d.imageId, category_id: category, bbox: [x1, y1, x2 - x1, y2 - y1], score: d.score };
  });
}
