import type { Detection } from '@detkit/core';
import { detectionsToCocoResults } from './from-dataset.js';
import { writeFileAtomic } from './json-file.js';

/**
 * Writes detections as a COCO results JSON file (atomic: temp + rename). Category ids are
 * `categoryIds[label]` when given (a COCO dataset's map), else label + 1.
 */
export async function writeCocoResults(file: string, detections: readonly Detection[], categoryIds?: readonly number[]): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(detectionsToCocoResults(detections, categoryIds)));
}
