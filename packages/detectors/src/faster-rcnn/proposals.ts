import { BoxCoder } from './box-coder.js';
import { batchedNms } from './nms.js';

export interface ProposalOptions {
  /** Highest-scoring anchors kept per level before NMS. */
  preNmsTopN: number;
  /** Proposals kept per image after NMS. */
  postNmsTopN: number;
  nmsThreshold: number;
  /** Smallest side kept (input pixels; torchvision 1e-3). */
  minSize: number;
}

export interface Proposals {
  /** `[P*4]` xyxy input pixels, clipped to the image. */
  boxes: Float64Array;
  /** Objectness logits `[P]`, highest first. */
  scores: Float64Array;
}

const RPN_CODER = new BoxCoder([1, 1, 1, 1]);

/**
 * torchvision's `RegionProposalNetwork.filter_proposals` for one image, on the host (a
 * top-k, a decode of those k boxes and an NMS: no gradient flows through proposals, they are
 * detached by design). `objectness` `[A]` and `deltas` `[A*4]` are this image's rows;
 * `levelStarts` the first anchor of each level (plus the total at the end).
 */
export function proposalsForImage(
  objectness: ArrayLike<number>,
  deltas: ArrayLike<number>,
  anchors: ArrayLike<number>,
  levelStarts: readonly number[],
  size: { width: number; height: number },
  o: ProposalOptions,
): Proposals {
  const picked: number[] = [];
  const level: number[] = [];
  for (let l = 0; l + 1 < levelStarts.length; l++) {
    const idx: number[] = [];
    for (let i = levelStarts[l]!; i < levelStarts[l + 1]!; i++) idx.push(i);
    idx.sort((a, b) => objectness[b]! - objectness[a]! || a - b);
    for (const i of idx.slice(0, o.preNmsTopN)) {
      picked.push(i);
      level.push(l);
    }
  }
  const ref = new Float64Array(4 * picked.length);
  const del = new Float64Array(4 * picked.length);
  picked.forEach((a, k) => {
    for (let c = 0; c < 4; c++) {
      ref[4 * k + c] = anchors[4 * a + c]!;
      del[4 * k + c] = deltas[4 * a + c]!;
    }
  });
  const boxes = RPN_CODER.decode(ref, del);
  const keep: number[] = [];
  for (let k = 0; k < picked.length; k++) {
    boxes[4 * k] = clamp(boxes[4 * k]!, size.width);
    boxes[4 * k + 1] = clamp(boxes[4 * k + 1]!, size.height);
    boxes[4 * k + 2] = clamp(boxes[4 * k + 2]!, size.width);
    boxes[4 * k + 3] = clamp(boxes[4 * k + 3]!, size.height);
    if (boxes[4 * k + 2]! - boxes[4 * k]! >= o.minSize && boxes[4 * k + 3]! - boxes[4 * k + 1]! >= o.minSize) keep.push(k);
  }
  const kb = new Float64Array(4 * keep.length);
  keep.forEach((k, j) => kb.set(boxes.subarray(4 * k, 4 * k + 4), 4 * j));
  const scores = keep.map((k) => objectness[picked[k]!]!);
  const kept = batchedNms(kb, scores, keep.map((k) => level[k]!), o.nmsThreshold).subarray(0, o.postNmsTopN);
  const out: Proposals = { boxes: new Float64Array(4 * kept.length), scores: new Float64Array(kept.length) };
  kept.forEach((j, i) => {
    out.boxes.set(kb.subarray(4 * j, 4 * j + 4), 4 * i);
    out.scores[i] = scores[j]!;
  });
  return out;
}

function clamp(v: number, hi: number): number {
  return Math.min(Math.max(v, 0), hi);
}
