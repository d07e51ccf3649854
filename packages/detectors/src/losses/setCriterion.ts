import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, runStepsSync, type ForwardSteps, type LossTerms } from '@detkit/core';
import type { DetectionOutputs, HungarianMatcher, MatchIndices, MatchTarget } from '../matcher/hungarianMatcher.js';
import { giouBoxLoss, l1BoxLoss } from './boxLosses.js';
import { sigmoidFocalLoss } from './focalLoss.js';
import { gatherRows } from './gatherRows.js';
import { layerTermName } from './layer-term-name.js';

export type DetectionLossName = 'loss_ce' | 'loss_bbox' | 'loss_giou';

export interface SetCriterionConfig {
  matcher: HungarianMatcher;
  /** Weights of the terms; DAB-DETR's `cls_loss_coef`, `bbox_loss_coef`, `giou_loss_coef` (1, 5, 2) by default. A 0 weight skips the term. */
  weights?: Partial<Record<DetectionLossName, number>>;
  focalAlpha?: number;
  gamma?: number;
}

export interface CriterionResult {
  /** Weighted terms: `loss_ce`, `loss_bbox`, `loss_giou` for the last layer, `loss_ce_0`... for earlier layers. */
  losses: LossTerms;
  /** Matching per layer (same order as the input layers), per image. */
  indices: MatchIndices[][];
  /** The normaliser of every term: target boxes in the batch (at least 1), or the `numBoxes` given. */
  numBoxes: number;
}

/**
 * DETR's SetCriterion (focal-loss variant of Deformable / DAB-DETR). Each decoder layer is
 * matched to the targets independently and supervised with the same three terms.
 * Must run inside the gradient tape. `computeSteps` asks for every layer's predictions in one
 * host read (ForwardSteps); `compute` is the same with that read done synchronously.
 */
export class SetCriterion {
  readonly matcher: HungarianMatcher;
  readonly weights: Record<DetectionLossName, number>;
  readonly focalAlpha: number;
  readonly gamma: number;

  constructor(config: SetCriterionConfig) {
    this.matcher = config.matcher;
    this.weights = { loss_ce: 1, loss_bbox: 5, loss_giou: 2, ...config.weights };
    this.focalAlpha = config.focalAlpha ?? 0.25;
    this.gamma = config.gamma ?? 2;
    for (const [k, w] of Object.entries(this.weights)) {
      if (!Number.isFinite(w) || w < 0) throw new DetkitError('INVALID_ARGUMENT', `SetCriterion: weight ${k} must be a finite number >= 0, got ${w}`);
    }
  }

  /**
   * `layers` in decoder order; the last one is the final prediction (no name suffix).
   * `numBoxes` overrides the normaliser (default: the targets' boxes, at least 1): a
   * data-parallel rank passes `lossNormalizer(batch, local, 'boxes')`, the global count's share.
   */
  compute(layers: readonly DetectionOutputs[], targets: readonly MatchTarget[], options: { numBoxes?: number } = {}): CriterionResult {
    return runStepsSync(this.computeSteps(layers, targets, options));
  }

  /** As `compute`, pausing once for the host values of every layer's logits and boxes (matching). */
  *computeSteps(layers: readonly DetectionOutputs[], targets: readonly MatchTarget[], options: { numBoxes?: number } = {}): ForwardSteps<CriterionResult> {
    if (layers.length === 0) throw new DetkitError('INVALID_ARGUMENT', 'SetCriterion: no decoder layer outputs');
    const numBoxes = options.numBoxes ?? Math.max(1, targets.reduce((s, t) => s + t.labels.length, 0));
    const losses: LossTerms = {};
    const indices: MatchIndices[][] = [];
    const host = yield* this.matcher.readSteps(layers);
    layers.forEach((layer, l) => {
      const matched = this.matcher.matchHost(layer, host[l]!, targets);
      indices.push(matched);
      const terms = this.layerLosses(layer, targets, matched, numBoxes);
      for (const name of Object.keys(terms) as DetectionLossName[]) losses[layerTermName(name, l, layers.length)] = terms[name]!;
    });
    return { losses, indices, numBoxes };
  }

  /** Weighted losses of one layer given its matching. */
  layerLosses(layer: DetectionOutputs, targets: readonly MatchTarget[], matched: readonly MatchIndices[], numBoxes: number): Partial<Record<DetectionLossName, tf.Scalar>> {
    const [b, q, c] = layer.logits.shape;
    const out: Partial<Record<DetectionLossName, tf.Scalar>> = {};
    const w = this.weights;
    if (w.loss_ce > 0) {
      const onehot = new Float32Array(b * q * c);
      matched.forEach((m, i) => {
        for (let k = 0; k < m.queryIdx.length; k++) onehot[(i * q + m.queryIdx[k]) * c + targets[i].labels[m.targetIdx[k]]] = 1;
      });
      out.loss_ce = tf.tidy(() =>
        tf.mul(sigmoidFocalLoss(layer.logits, tf.tensor3d(onehot, [b, q, c]), numBoxes, { alpha: this.focalAlpha, gamma: this.gamma }), w.loss_ce) as tf.Scalar,
      );
    }
    if (w.loss_bbox > 0 || w.loss_giou > 0) {
      const rows: number[] = [];
      const tgt: number[] = [];
      matched.forEach((m, i) => {
        for (let k = 0; k < m.queryIdx.length; k++) {
          rows.push(i * q + m.queryIdx[k]);
          const t = m.targetIdx[k];
          for (let d = 0; d < 4; d++) tgt.push(targets[i].boxes[4 * t + d]);
        }
      });
      // Returned from the tidy, not tf.keep'd: kept tensors would escape the caller's tidy too.
      const [l1, giou] = tf.tidy(() => {
        const src = gatherRows(tf.reshape(layer.boxes, [b * q, 4]), rows);
        const tgtBoxes = tf.tensor2d(tgt, [rows.length, 4]);
        return [
          w.loss_bbox > 0 ? (tf.mul(l1BoxLoss(src, tgtBoxes, numBoxes), w.loss_bbox) as tf.Scalar) : undefined,
          w.loss_giou > 0 ? (tf.mul(giouBoxLoss(src, tgtBoxes, numBoxes), w.loss_giou) as tf.Scalar) : undefined,
        ];
      });
      if (l1) out.loss_bbox = l1;
      if (giou) out.loss_giou = giou;
    }
    return out;
  }
}
