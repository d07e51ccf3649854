import type * as tf from '@tensorflow/tfjs-core';
import { DetkitError, type BatchTarget, type ForwardSteps } from '@detkit/core';
import { cxcywhToXyxy64, pairGiou64 } from '../box/boxOps64.js';
import { linearSumAssignment } from './linearSumAssignment.js';

/** Weights of the matching cost terms. Defaults are DAB-DETR's `set_cost_*` (2, 5, 2). */
export interface HungarianMatcherConfig {
  costClass?: number;
  costBbox?: number;
  costGiou?: number;
  focalAlpha?: number;
  gamma?: number;
}

/** Matched pairs for one image: query `queryIdx[k]` predicts target `targetIdx[k]`; sorted by query. */
export interface MatchIndices {
  queryIdx: Int32Array;
  targetIdx: Int32Array;
}

/** One decoder layer's predictions: logits `[B,Q,C]` (pre-sigmoid), boxes `[B,Q,4]` normalised cxcywh. */
export interface DetectionOutputs {
  logits: tf.Tensor3D;
  boxes: tf.Tensor3D;
}

/** Host copies of one layer's `logits` and `boxes`. */
export interface HostDetections {
  logits: ArrayLike<number>;
  boxes: ArrayLike<number>;
}

/** The per-target slice of a batch the matcher needs (a BatchTarget fits). */
export type MatchTarget = Pick<BatchTarget, 'boxes' | 'labels'>;

/**
 * DETR's bipartite matcher in the focal-loss variant of Deformable / DAB-DETR:
 *
 *   C[q, t] = costClass * (pos(p) - neg(p))[q, label_t] + costBbox * |b_q - b_t|_1 + costGiou * -GIoU(b_q, b_t)
 *
 * with p = sigmoid(logits), pos = alpha (1-p)^gamma (-log(p + 1e-8)),
 * neg = (1-alpha) p^gamma (-log(1 - p + 1e-8)); L1 on normalised cxcywh, GIoU on xyxy.
 * Runs on the CPU in float64: predictions are read from the device once per call.
 */
export class HungarianMatcher {
  readonly costClass: number;
  readonly costBbox: number;
  readonly costGiou: number;
  readonly focalAlpha: number;
  readonly gamma: number;

  constructor(config: HungarianMatcherConfig = {}) {
    this.costClass = config.costClass ?? 2;
    this.costBbox = config.costBbox ?? 5;
    this.costGiou = config.costGiou ?? 2;
    this.focalAlpha = config.focalAlpha ?? 0.25;
    this.gamma = config.gamma ?? 2;
    for (const key of ['costClass', 'costBbox', 'costGiou', 'focalAlpha', 'gamma'] as const) {
      if (!Number.isFinite(this[key]) || this[key] < 0) {
        throw new DetkitError('INVALID_ARGUMENT', `HungarianMatcher: ${key} must be a finite number >= 0, got ${this[key]}`);
      }
    }
    if (this.costClass === 0 && this.costBbox === 0 && this.costGiou === 0) {
      throw new DetkitError('INVALID_ARGUMENT', 'HungarianMatcher: all costs are 0');
    }
  }

  /** Synchronous (usable inside a gradient tape): one `dataSync` of logits and boxes. */
  match(outputs: DetectionOutputs, targets: readonly MatchTarget[]): MatchIndices[] {
    const [b, q, c] = outputs.logits.shape;
    return this.matchArrays(outputs.logits.dataSync() as Float32Array, outputs.boxes.dataSync() as Float32Array, [b, q, c], targets, outputs.boxes.shape);
  }

  /** ForwardSteps asking, in one read, for the host values of every layer's logits and boxes. */
  *readSteps(layers: readonly DetectionOutputs[]): ForwardSteps<HostDetections[]> {
    const values = yield layers.flatMap((l) => [l.logits, l.boxes]);
    return layers.map((_, i) => ({ logits: values[2 * i]!, boxes: values[2 * i + 1]! }));
  }

  /** `match` on values already read (`host` holds `outputs`' logits and boxes). */
  matchHost(outputs: DetectionOutputs, host: HostDetections, targets: readonly MatchTarget[]): MatchIndices[] {
    const [b, q, c] = outputs.logits.shape;
    return this.matchArrays(host.logits, host.boxes, [b, q, c], targets, outputs.boxes.shape);
  }

  /** Same as `match`, reading the device without blocking. */
  async matchAsync(outputs: DetectionOutputs, targets: readonly MatchTarget[]): Promise<MatchIndices[]> {
    const [b, q, c] = outputs.logits.shape;
    const [logits, boxes] = await Promise.all([outputs.logits.data(), outputs.boxes.data()]);
    return this.matchArrays(logits as Float32Array, boxes as Float32Array, [b, q, c], targets, outputs.boxes.shape);
  }

  /** Matching on host arrays: `logits` `[B*Q*C]`, `boxes` `[B*Q*4]`. */
  matchArrays(
    logits: ArrayLike<number>,
    boxes: ArrayLike<number>,
    shape: readonly [number, number, number],
    targets: readonly MatchTarget[],
    boxesShape: readonly number[] = [shape[0], shape[1], 4],
  ): MatchIndices[] {
    const [b, q, c] = shape;
    if (boxesShape.length !== 3 || boxesShape[0] !== b || boxesShape[1] !== q || boxesShape[2] !== 4) {
      throw new DetkitError('INVALID_ARGUMENT', `HungarianMatcher: boxes shape [${boxesShape}] does not fit logits [${shape}] (want [${b},${q},4])`);
    }
    if (targets.length !== b) {
      throw new DetkitError('INVALID_ARGUMENT', `HungarianMatcher: ${targets.length} targets for a batch of ${b}`);
    }
    assertFinitePredictions(logits, boxes);
    const out: MatchIndices[] = [];
    for (let i = 0; i < b; i++) {
      const imgLogits = subarray(logits, i * q * c, (i + 1) * q * c);
      const imgBoxes = subarray(boxes, i * q * 4, (i + 1) * q * 4);
      const n = targets[i].labels.length;
      const cost = this.costMatrix(imgLogits, imgBoxes, q, c, targets[i], i);
      const { rowIdx, colIdx } = linearSumAssignment(cost, q, n);
      out.push({ queryIdx: rowIdx, targetIdx: colIdx });
    }
    return out;
  }

  /** Cost matrix `[Q, N]` (row-major, float64) for one image. `image` only labels errors. */
  costMatrix(logits: ArrayLike<number>, boxes: ArrayLike<number>, q: number, c: number, target: MatchTarget, image = 0): Float64Array {
    const n = target.labels.length;
    if (target.boxes.length !== 4 * n) {
      throw new DetkitError('INVALID_ARGUMENT', `HungarianMatcher: target ${image} has ${n} labels but ${target.boxes.length / 4} boxes`);
    }
    for (let t = 0; t < n; t++) {
      const l = target.labels[t];
      if (!Number.isInteger(l) || l < 0 || l >= c) {
        throw new DetkitError('INVALID_ARGUMENT', `HungarianMatcher: target ${image} label[${t}] = ${l} is outside [0, ${c})`);
      }
    }
    const { focalAlpha: alpha, gamma } = this;
    const predXyxy = cxcywhToXyxy64(boxes);
    const tgtXyxy = cxcywhToXyxy64(target.boxes);
    const cost = new Float64Array(q * n);
    for (let qi = 0; qi < q; qi++) {
      for (let t = 0; t < n; t++) {
        const p = 1 / (1 + Math.exp(-logits[qi * c + target.labels[t]]));
        const neg = (1 - alpha) * p ** gamma * -Math.log(1 - p + 1e-8);
        const pos = alpha * (1 - p) ** gamma * -Math.log(p + 1e-8);
        let l1 = 0;
        for (let k = 0; k < 4; k++) l1 += Math.abs(boxes[qi * 4 + k] - target.boxes[t * 4 + k]);
        const giou = pairGiou64(predXyxy, qi, tgtXyxy, t).giou;
        cost[qi * n + t] = this.costClass * (pos - neg) + this.costBbox * l1 - this.costGiou * giou;
      }
    }
    for (let k = 0; k < cost.length; k++) {
      if (Number.isNaN(cost[k])) {
        throw new DetkitError('INVALID_ARGUMENT', `HungarianMatcher: NaN matching cost in image ${image} (query ${Math.floor(k / n)}, target ${k % n}); predictions or targets contain NaN`);
      }
    }
    return cost;
  }
}

/** NaN and +-Infinity in `a`, and the first of them. */
function countNonFinite(a: ArrayLike<number>): { count: number; first: number } {
  let count = 0;
  let first = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v - v !== 0) {
      if (count === 0) first = v;
      count++;
    }
  }
  return { count, first };
}

/**
 * Non-finite predictions mean the weights have diverged (the last update blew them up, e.g. a
 * learning rate far too high): that is a non-finite loss (LOSS_NOT_FINITE), not a bad argument,
 * and it is caught here, before any cost is computed. The arrays are on the host already.
 */
function assertFinitePredictions(logits: ArrayLike<number>, boxes: ArrayLike<number>): void {
  const l = countNonFinite(logits);
  const b = countNonFinite(boxes);
  if (l.count === 0 && b.count === 0) return;
  const part = (name: string, c: { count: number; first: number }, n: number) => (c.count > 0 ? [`${name}: ${c.count} of ${n} (first: ${c.first})`] : []);
  const what = [...part('logits', l, logits.length), ...part('boxes', b, boxes.length)].join(', ');
  throw new DetkitError(
    'LOSS_NOT_FINITE',
    `the model's predictions are not finite (${what}), so no loss can be computed: the weights have diverged (is the learning rate too high?)`,
    { logits: l.count, boxes: b.count },
  );
}

function subarray(a: ArrayLike<number>, start: number, end: number): ArrayLike<number> {
  return ArrayBuffer.isView(a) ? (a as unknown as Float32Array).subarray(start, end) : Array.prototype.slice.call(a, start, end);
}
