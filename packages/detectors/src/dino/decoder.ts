import * as tf from '@tensorflow/tfjs-core';
import { LayerNorm, MLP, Module, stopGradient } from '@detkit/core';
import { inverseSigmoid } from '../box/boxOps.js';
import { DeformableDecoderLayer, type DecoderMemory } from '../deformable-detr/decoder.js';
import type { DeformableLayerOptions } from '../deformable-detr/encoder.js';
import { subSeed } from '../transformer/encoder.js';
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
export class DinoDecoder extends Module {
  readonly layers: DeformableDecoderLayer[];
  readonly refPointHead: MLP;
  readonly norm: LayerNorm;
  private readonly d: number;

  constructor(opts: DeformableLayerOptions & { numLayers: number }) {
    super();
    const d = (this.d = opts.dModel);
    this.layers = this.moduleList(
      'layers',
      Array.from({ length: opts.numLayers }, (_, i) => new DeformableDecoderLayer({ ...opts, seed: subSeed(opts.seed, 300 + i) })),
    );
    this.refPointHead = this.module('ref_point_head', new MLP(2 * d, d, d, 2, { seed: subSeed(opts.seed, 1) }));
    this.norm = this.module('norm', new LayerNorm(d));
  }

  /** tgt `[B,N,d]` content, anchors `[B,N,4]` sigmoid boxes (no gradient expected); `bboxHeads[l]` is layer l's box head. */
  forward(tgt: tf.Tensor3D, anchors: tf.Tensor3D, m: DecoderMemory, bboxHeads: readonly MLP[], opts: DinoDecodeOptions): DinoDecoderOutput {
    const hs: tf.Tensor3D[] = [];
    const boxes: tf.Tensor3D[] = [];
    const [B, N] = tgt.shape;
    const L = m.shapes.length;
    const last = this.layers.length - 1;
    const ratios4 = tf.tidy(() => tf.reshape(tf.concat([m.validRatios, m.validRatios], -1), [B, 1, L, 4]));
    let output = tgt;
    let ref = anchors; // the reference box of the next layer: no gradient
    let refWithGrad = anchors; // the same values, with the gradient of the layer that refined them
    this.layers.forEach((layer, l) => {
      const next = tf.tidy(() => {
        const reference = tf.mul(tf.reshape(ref, [B, N, 1, 4]), ratios4) as tf.Tensor4D;
        const level0 = tf.reshape(tf.slice(reference, [0, 0, 0, 0], [B, N, 1, 4]), [B, N, 4]);
        const queryPos = this.refPointHead.forward(sineEmbedForPosition(level0, { numFeats: this.d / 2 })) as tf.Tensor3D;
        const out = layer.forward(output, queryPos, reference, m);
        const wanted = !opts.finalLayerOnly || l === last;
        const normed = wanted ? (this.norm.forward(out) as tf.Tensor3D) : undefined;
        const base = opts.lookForwardTwice ? refWithGrad : ref;
        const box = normed ? (tf.sigmoid(tf.add(bboxHeads[l]!.forward(normed), inverseSigmoid(base))) as tf.Tensor3D) : undefined;
        const refined = l < last ? (tf.sigmoid(tf.add(bboxHeads[l]!.forward(out), inverseSigmoid(ref))) as tf.Tensor3D) : undefined;
        return { out, normed, box, refined };
      });
      output = next.out;
      if (next.normed) hs.push(next.normed);
      if (next.box) boxes.push(next.box);
      if (next.refined) {
        refWithGrad = next.refined;
        ref = stopGradient(next.refined);
      }
    });
    ratios4.dispose();
    return { hs, boxes };
  }
}
