import type { BatchTarget, Detection } from '@detkit/core';
import type { BoxCoder } from './box-coder.js';
import { batchedNms } from './nms.js';

export interface DetectionOptions {
  scoreThreshold: number;
  nmsThreshold: number;
  detectionsPerImage: number;
  /** Smallest side kept, input pixels (torchvision 1e-2). */
  minSize: number;
}

/**
 * torchvision's `postprocess_detections` for one image, on the host: softmax over C+1,
 * class-specific decode against the proposals, clip, score threshold, class-aware NMS, top
 * k; then input pixels -> original-image pixels (like the DETRs' predict).
 * `logits` `[R*(C+1)]` (background last), `deltas` `[R*C*4]`, `proposals` `[R*4]`.
 */
export function detectionsForImage(
  logits: ArrayLike<number>,
  deltas: ArrayLike<number>,
  proposals: ArrayLike<number>,
  numClasses: number,
  coder: BoxCoder,
  target: Pick<BatchTarget, 'imageId' | 'width' | 'height' | 'origWidth' | 'origHeight'>,
  o: DetectionOptions,
): Detection[] {
  const r = proposals.length / 4;
  const k = numClasses + 1;
  const boxes = coder.decode(proposals, deltas); // [R*C*4]
  const candBoxes: number[] = [];
  const candScores: number[] = [];
  const candLabels: number[] = [];
  for (let i = 0; i < r; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, logits[i * k + c]!);
    let z = 0;
    for (let c = 0; c < k; c++) z += Math.exp(logits[i * k + c]! - max);
    for (let c = 0; c < numClasses; c++) {
      const score = Math.exp(logits[i * k + c]! - max) / z;
      if (score <= o.scoreThreshold) continue;
      const b = 4 * (i * numClasses + c);
      const x0 = clamp(boxes[b]!, target.width), y0 = clamp(boxes[b + 1]!, target.height);
      const x1 = clamp(boxes[b + 2]!, target.width), y1 = clamp(boxes[b + 3]!, target.height);
      if (x1 - x0 < o.minSize || y1 - y0 < o.minSize) continue;
      candBoxes.push(x0, y0, x1, y1);
      candScores.push(score);
      candLabels.push(c);
    }
  }
  const keep = batchedNms(candBoxes, candScores, candLabels, o.nmsThreshold).subarray(0, o.detectionsPerImage);
  const sx = target.origWidth / target.width;
  const sy = target.origHeight / target.height;
  return Array.from(keep, (j) => ({
    imageId: target.imageId,
    label: candLabels[j]!,
    score: candScores[j]!,
    box: [candBoxes[4 * j]! * sx, candBoxes[4 * j + 1]! * sy, candBoxes[4 * j + 2]! * sx, candBoxes[4 * j + 3]! * sy] as [number, number, number, number],
  }));
}

function clamp(v: number, hi: number): number {
  return Math.min(Math.max(v, 0), hi);
}
