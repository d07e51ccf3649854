import { AREA_RANGES, IOU_THRESHOLDS, MAX_DETS, A, T } from './params.js';
import { bboxIou } from './iou.js';
import type { CocoIndex } from './prepare.js';
import { argsortDescStable } from './stable-sort.js';

/** Outcome of one detection at one (area range, IoU threshold). */
export const DT_FP = 0;
export const DT_TP = 1;
export const DT_IGNORED = 2;

/** Per-detection results of evaluateImg, for the detections it kept (top maxDet per group). */
export interface MatchTable {
  /** Score of each kept detection, laid out group after group. */
  score: Float64Array;
  /** Rank of the detection inside its (category, image) group: 0 = highest score. */
  rank: Int32Array;
  /** [kept, A, T] DT_FP / DT_TP / DT_IGNORED. */
  state: Uint8Array;
  /** [K*A] number of non-ignored GT per category and area range (npig). */
  npig: Int32Array;
  /** [K + 1] offsets of each category's kept detections. */
  catStart: Int32Array;
}

/** Scratch buffers reused across groups so the hot loop allocates nothing per pair. */
class Scratch {
  iou = new Float64Array(0);
  gtOrder = new Int32Array(0);
  gtIgnore = new Uint8Array(0);
  gtMatched = new Uint8Array(0);
  ensure(D: number, G: number): void {
    if (this.iou.length < D * G) this.iou = new Float64Array(D * G * 2);
    if (this.gtOrder.length < G) {
      this.gtOrder = new Int32Array(G * 2);
      this.gtIgnore = new Uint8Array(G * 2);
      this.gtMatched = new Uint8Array(G * 2);
    }
  }
}

/**
 * pycocotools' evaluate(): per (category, image) group, detections sorted by score and cut to
 * maxDets[-1]; per area range GT outside the range (or crowd) are ignored and sorted last; per
 * IoU threshold each detection greedily takes the best still-available GT.
 */
export function matchAll(index: CocoIndex): MatchTable {
  const K = index.catIds.length;
  const I = index.imgIds.length;
  const maxDet = MAX_DETS[MAX_DETS.length - 1];
  const { gtStart, dtStart } = index;

  // Kept detections per group: min(D, maxDet); lay them out in group order.
  const catStart = new Int32Array(K + 1);
  let kept = 0;
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < I; i++) {
      const g = k * I + i;
      kept += Math.min(dtStart[g + 1] - dtStart[g], maxDet);
    }
    catStart[k + 1] = kept;
  }
  const out: MatchTable = {
    score: new Float64Array(kept),
    rank: new Int32Array(kept),
    state: new Uint8Array(kept * A * T),
    npig: new Int32Array(K * A),
    catStart,
  };
  const scratch = new Scratch();
  let slot = 0;
  for (let g = 0; g < K * I; g++) {
    slot = matchGroup(index, g, Math.floor(g / I), slot, maxDet, out, scratch);
  }
  return out;
}

function matchGroup(
  index: CocoIndex,
  g: number,
  k: number,
  slot: number,
  maxDet: number,
  out: MatchTable,
  s: Scratch,
): number {
  const g0 = index.gtStart[g], G = index.gtStart[g + 1] - g0;
  const d0 = index.dtStart[g], D0 = index.dtStart[g + 1] - d0;
  if (G === 0 && D0 === 0) return slot; // evaluateImg returns None
  const dets = argsortDescStable(index.dtScore, d0, d0 + D0);
  const D = Math.min(D0, maxDet);
  s.ensure(D, G);
  const { iou, gtOrder, gtIgnore, gtMatched } = s;
  const { gtCrowd, gtArea, gtIdTruthy, dtArea } = index;
  for (let d = 0; d < D; d++) {
    out.score[slot + d] = index.dtScore[dets[d]];
    out.rank[slot + d] = d;
    for (let j = 0; j < G; j++) iou[d * G + j] = bboxIou(index.dtBox, dets[d], index.gtBox, g0 + j, gtCrowd[g0 + j] !== 0);
  }
  // maskUtils.iou returns [] when either side is empty: then nothing is matched at all.
  const haveIou = D > 0 && G > 0;

  for (let a = 0; a < A; a++) {
    const [lo, hi] = AREA_RANGES[a];
    // Stable sort on the ignore flag: regular GT first, each part in load order.
    let n = 0;
    for (let j = 0; j < G; j++) {
      const ar = gtArea[g0 + j];
      if (!(gtCrowd[g0 + j] || ar < lo || ar > hi)) gtOrder[n++] = j;
    }
    out.npig[k * A + a] += n;
    for (let j = 0; j < G; j++) {
      const ar = gtArea[g0 + j];
      if (gtCrowd[g0 + j] || ar < lo || ar > hi) gtOrder[n++] = j;
    }
    for (let q = 0; q < G; q++) {
      const ar = gtArea[g0 + gtOrder[q]];
      gtIgnore[q] = gtCrowd[g0 + gtOrder[q]] || ar < lo || ar > hi ? 1 : 0;
    }

    for (let t = 0; t < T; t++) {
      gtMatched.fill(0, 0, G);
      for (let d = 0; d < D; d++) {
        const outside = dtArea[dets[d]] < lo || dtArea[dets[d]] > hi;
        let m = -1;
        if (haveIou) {
          let best = Math.min(IOU_THRESHOLDS[t], 1 - 1e-10);
          for (let q = 0; q < G; q++) {
            const j = gtOrder[q];
            if (gtMatched[q] && !gtCrowd[g0 + j]) continue; // taken, and not a crowd
            if (m > -1 && !gtIgnore[m] && gtIgnore[q]) break; // already on a regular GT
            const v = iou[d * G + j];
            if (v < best) continue;
            best = v;
            m = q;
          }
        }
        let state: number;
        if (m === -1) {
          state = outside ? DT_IGNORED : DT_FP;
        } else {
          gtMatched[m] = 1;
          const matchedId = gtIdTruthy[g0 + gtOrder[m]] !== 0;
          // dtIgnore = gtIgnore[m], or (dtMatches == 0 and outside the area range).
          if (gtIgnore[m] || (!matchedId && outside)) state = DT_IGNORED;
          else state = matchedId ? DT_TP : DT_FP;
        }
        out.state[((slot + d) * A + a) * T + t] = state;
      }
    }
  }
  return slot + D;
}
