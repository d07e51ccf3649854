import { boxPairIou } from './iou.js';

/**
 * Greedy non-maximum suppression on the host (torchvision `nms`): visit boxes by decreasing
 * score (ties: lower index first) and keep a box unless a kept box overlaps it with IoU >
 * `iouThreshold`. Returns kept indices, highest score first. A few hundred boxes per image:
 * a host loop beats building an N x N IoU tensor.
 */
export function nms(boxes: ArrayLike<number>, scores: ArrayLike<number>, iouThreshold: number): Int32Array {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const kept: number[] = [];
  for (const i of order) {
    if (kept.every((k) => boxPairIou(boxes, k, boxes, i) <= iouThreshold)) kept.push(i);
  }
  return Int32Array.from(kept);
}

/**
 * NMS within each group only (torchvision `batched_nms`: per class at inference, per FPN
 * level for proposals). Kept indices across all groups, highest score first.
 */
export function batchedNms(boxes: ArrayLike<number>, scores: ArrayLike<number>, groups: ArrayLike<number>, iouThreshold: number): Int32Array {
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < scores.length; i++) {
    const g = groups[i]!;
    if (!byGroup.has(g)) byGroup.set(g, []);
    byGroup.get(g)!.push(i);
  }
  const kept: number[] = [];
  for (const idx of byGroup.values()) {
    const sub = new Float64Array(idx.length * 4);
    idx.forEach((i, k) => {
      for (let c = 0; c < 4; c++) sub[4 * k + c] = boxes[4 * i + c]!;
    });
    for (const k of nms(sub, idx.map((i) => scores[i]!), iouThreshold)) kept.push(idx[k]!);
  }
  return Int32Array.from(kept.sort((a, b) => scores[b]! - scores[a]! || a - b));
}
