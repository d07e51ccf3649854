import * as tf from '@tensorflow/tfjs-core';
import type { ForwardSteps, LossTerms } from '@detkit/core';
import type { DecodeOutput } from '../contract/query-groups.js';
import type { SetCriterion } from '../losses/setCriterion.js';
import { layerTermName } from '../losses/layer-term-name.js';
import type { MatchTarget } from '../matcher/hungarianMatcher.js';
import type { DenoisingQueries } from './denoising.js';

export interface DinoLossInputs {
  /** The matching queries, per decoder layer (Hungarian-matched). */
  detection: DecodeOutput;
  /** The two-stage outputs of the selected encoder tokens (Hungarian-matched, terms `*_interm`). */
  interm: { logits: tf.Tensor3D; boxes: tf.Tensor3D };
  /** The denoising queries and their outputs per layer (terms `*_dn`, fixed matching). */
  denoising?: { output: DecodeOutput; queries: DenoisingQueries };
  /** Denoising is on: without denoising queries (a batch with no box) its terms are reported as 0, so the term set never changes. */
  denoisingOn: boolean;
}

/**
 * DINO's criterion (the reference's SetCriterion.forward) on top of DETR's: every decoder
 * layer of the matching queries and the two-stage outputs are Hungarian-matched (one host read
 * for all of them) and supervised by focal + L1 + GIoU; the denoising queries of every layer
 * by the same terms with the fixed matching positive query -> its box (negatives and padding
 * are background for the focal term), normalised by numBoxes x groups. Names: `loss_ce`,
 * `loss_ce_0`.. (matching), `loss_ce_dn`, `loss_ce_dn_0`.., `loss_ce_interm`; same for bbox, giou.
 */
export function* dinoLossSteps(criterion: SetCriterion, inputs: DinoLossInputs, targets: readonly MatchTarget[], numBoxes: number): ForwardSteps<LossTerms> {
  const layers = inputs.detection.logits.map((logits, l) => ({ logits, boxes: inputs.detection.boxes[l]! }));
  const L = layers.length;
  const host = yield* criterion.matcher.readSteps([...layers, inputs.interm]);
  const losses: LossTerms = {};
  const add = (terms: Partial<Record<string, tf.Scalar>>, name: (base: string) => string) => {
    for (const [k, v] of Object.entries(terms)) losses[name(k)] = v!;
  };
  layers.forEach((layer, l) => add(criterion.layerLosses(layer, targets, criterion.matcher.matchHost(layer, host[l]!, targets), numBoxes), (k) => layerTermName(k, l, L)));
  add(criterion.layerLosses(inputs.interm, targets, criterion.matcher.matchHost(inputs.interm, host[L]!, targets), numBoxes), (k) => `${k}_interm`);
  const dn = inputs.denoising;
  if (dn) {
    const norm = numBoxes * dn.queries.groups;
    dn.output.logits.forEach((logits, l) => add(criterion.layerLosses({ logits, boxes: dn.output.boxes[l]! }, targets, dn.queries.positives, norm), (k) => layerTermName(`${k}_dn`, l, L)));
  } else if (inputs.denoisingOn) {
    const names = (['loss_ce', 'loss_bbox', 'loss_giou'] as const).filter((k) => criterion.weights[k] > 0);
    for (let l = 0; l < L; l++) for (const k of names) losses[layerTermName(`${k}_dn`, l, L)] = tf.scalar(0);
  }
  return losses;
}
