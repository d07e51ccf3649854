import * as tf from '@tensorflow/tfjs-core';
import { LayerNorm, MLP } from '@detkit/core';
import { inverseSigmoid } from '../box/boxOps.js';
import { AnchorRefinementDecoder, type DecoderMemory } from '../deformable-detr/decoder.js';
import type { DeformableLayerOptions } from '../deformable-detr/encoder.js';
import { sineEmbedForPosition } from '../transformer/position-encoding.js';

export interface DinoDecodeOptions {
  /**
   * Look forward twice (DINO): layer l's box is predicted from layer l-1's refined box WITH its
   * gradient, so layer l's loss also trains layer l-1's box head (the box fed into layer l as
   * its reference stays detached). Off: Deformable DETR's refinement, the previous box detached.
   */
  lookForwardTwice: boolean;
  /** Only the last layer's class / box outputs are needed (the refinement still runs per layer). */
  finalLayerOnly?: boolean;
}

export interface DinoDecoderOutput {
  /** Normed hidden states (`norm`) of the layers whose outputs are returned, `[B,N,d]`. */
  hs: tf.Tensor3D[];
  /** Their boxes, sigmoid cxcywh `[B,N,4]` (with gradient). */
  boxes: tf.Tensor3D[];
}

/**
 * DINO's deformable decoder (reference `DeformableTransformerDecoder` with
 * `deformable_decoder`, no query scale): per layer the positional query is
 * `ref_point_head(sine(reference box scaled to the first level's valid extent))`; the layers
 * are Deformable DETR's (self-attention with the pass's layout, deformable cross-attention,
 * FFN); a final `norm` gives the hidden states the heads read. As in the reference, the next
 * reference box is refined from the un-normed output (`bbox_embed[l](output)`), the returned
 * box from the normed one (`bbox_embed[l](norm(output))`) on the previous layer's refined box
 * (look forward twice) or on the detached reference.
 */
export class DinoDecoder extends AnchorRefinementDecoder {
  readonly norm: LayerNorm;

  constructor(opts: DeformableLayerOptions & { numLayers: number }) {
    super(opts);
    this.norm = this.module('norm', new LayerNorm(this.d));
  }

  /** No query scale: `ref_point_head(sine(the first level's reference box))`. */
  protected queryPos(_l: number, _ref: tf.Tensor3D, reference: tf.Tensor4D): tf.Tensor3D {
    const [B, N] = reference.shape;
    const level0 = tf.reshape(tf.slice(reference, [0, 0, 0, 0], [B, N, 1, 4]), [B, N, 4]);
    return this.refPointHead.forward(sineEmbedForPosition(level0, { numFeats: this.d / 2 })) as tf.Tensor3D;
  }

  /** tgt `[B,N,d]` content, anchors `[B,N,4]` sigmoid boxes (no gradient expected); `bboxHeads[l]` is layer l's box head. */
  forward(tgt: tf.Tensor3D, anchors: tf.Tensor3D, m: DecoderMemory, bboxHeads: readonly MLP[], opts: DinoDecodeOptions): DinoDecoderOutput {
    const last = this.layers.length - 1;
    let refWithGrad = anchors; // the reference box's values with the gradient of the layer that refined them
    const steps = this.refineLayers(tgt, anchors, m, (l, out, ref) => {
      const wanted = !opts.finalLayerOnly || l === last;
      const normed = wanted ? (this.norm.forward(out) as tf.Tensor3D) : undefined;
      const base = opts.lookForwardTwice ? refWithGrad : ref;
      const box = normed ? (tf.sigmoid(tf.add(bboxHeads[l]!.forward(normed), inverseSigmoid(base))) as tf.Tensor3D) : undefined;
      const refined = l < last ? (tf.sigmoid(tf.add(bboxHeads[l]!.forward(out), inverseSigmoid(ref))) as tf.Tensor3D) : undefined;
      if (refined) refWithGrad = refined; // kept: returned from the layer's tidy
      return { out, normed, box, refined };
    });
    return {
      hs: steps.flatMap((s) => (s.normed ? [s.normed] : [])),
      boxes: steps.flatMap((s) => (s.box ? [s.box] : [])),
    };
  }
}
