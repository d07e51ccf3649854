import { EPS, MAX_DETS, REC_THRESHOLDS, A, M, R, T } from './params.js';
import { DT_IGNORED, DT_TP, type MatchTable } from './match.js';
import { argsortDescStable } from './stable-sort.js';

export interface Accumulated {
  /** [T,R,K,A,M], -1 where the category has no non-ignored GT. */
  precision: Float64Array;
  /** [T,K,A,M], same convention. */
  recall: Float64Array;
}

/**
 * pycocotools' accumulate(): per (category, area, maxDet, IoU) the kept detections of every image
 * are merged by score (stable: ties keep image order), tp/fp are cumulated (ignored detections
 * keep their place but count for neither), precision is made non-increasing from the right and
 * read at the 101 recall thresholds with searchsorted 'left' (0 past the last recall reached).
 */
export function accumulate(table: MatchTable, K: number): Accumulated {
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  let rc = new Float64Array(0);
  let pr = new Float64Array(0);

  for (let k = 0; k < K; k++) {
    const c0 = table.catStart[k], c1 = table.catStart[k + 1];
    // One stable sort serves every maxDet: filtering a stably sorted list by rank gives the
    // same order as stably sorting the filtered list.
    const order = argsortDescStable(table.score, c0, c1);
    if (rc.length < order.length) {
      rc = new Float64Array(order.length);
      pr = new Float64Array(order.length);
    }
    for (let a = 0; a < A; a++) {
      const npig = table.npig[k * A + a];
      if (npig === 0) continue;
      for (let m = 0; m < M; m++) {
        const maxDet = MAX_DETS[m];
        for (let t = 0; t < T; t++) {
          let tp = 0, fp = 0, nd = 0;
          for (const slot of order) {
            if (table.rank[slot] >= maxDet) continue;
            const s = table.state[(slot * A + a) * T + t];
            if (s !== DT_IGNORED) {
              if (s === DT_TP) tp++;
              else fp++;
            }
            rc[nd] = tp / npig;
            pr[nd] = tp / (fp + tp + EPS);
            nd++;
          }
          recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          let pi = 0;
          for (let r = 0; r < R; r++) {
            const thr = REC_THRESHOLDS[r];
            while (pi < nd && rc[pi] < thr) pi++;
            precision[(((t * R + r) * K + k) * A + a) * M + m] = pi < nd ? pr[pi] : 0;
          }
        }
      }
    }
  }
  return { precision, recall };
}
