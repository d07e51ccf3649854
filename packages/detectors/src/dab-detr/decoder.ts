import * as tf from '@tensorflow/tfjs-core';
import { LayerNorm, MLP, Module } from '@detkit/core';
import { inverseSigmoid } from '../box/boxOps.js';
import type { DecoderMasks } from '../transformer/decoder.js';
import { stopGradient } from '../transformer/detach.js';
import { type LayerOptions, subSeed } from '../transformer/encoder.js';
import { sineEmbedForPosition } from '../transformer/position-encoding.js';
import { DabDecoderLayer } from './decoder-layer.js';

export interface DabDecoderOutput {
  /** Normed hidden states after each layer `[B,Q,d]`. */
  hs: tf.Tensor3D[];
  /** Sigmoid anchors each layer's box head refines `[B,Q,4]` (layer 0: the input anchors). */
  references: tf.Tensor3D[];
}

/**
 * DAB-DETR's decoder. Per layer: positional query = `ref_point_head`(sine(anchor)); the
 * sine embedding of the centre is scaled by `query_scale`(content) (not in layer 0) and its
 * x / y halves modulated by (predicted w, h) / anchor (w, h) (`ref_anchor_head`); after the
 * layer, the shared box head predicts a delta added in inverse-sigmoid space; the refined
 * anchor feeds the next layer detached (no gradient), as in the reference.
 */
export class DabDecoder extends Module {
  readonly layers: DabDecoderLayer[];
  readonly norm: LayerNorm;
  readonly queryScale: MLP;
  readonly refPointHead: MLP;
  readonly refAnchorHead: MLP;
  private readonly d: number;

  constructor(opts: LayerOptions & { numLayers: number }) {
    super();
    const d = (this.d = opts.dModel);
    this.layers = this.moduleList(
      'layers',
      Array.from({ length: opts.numLayers }, (_, i) => new DabDecoderLayer({ ...opts, seed: subSeed(opts.seed, 300 + i) }, i === 0)),
    );
    this.norm = this.module('norm', new LayerNorm(d));
    this.queryScale = this.module('query_scale', new MLP(d, d, d, 2, { seed: subSeed(opts.seed, 1) }));
    this.refPointHead = this.module('ref_point_head', new MLP(2 * d, d, d, 2, { seed: subSeed(opts.seed, 2) }));
    this.refAnchorHead = this.module('ref_anchor_head', new MLP(d, d, 2, 2, { seed: subSeed(opts.seed, 3) }));
  }

  /**
   * tgt `[B,Q,d]` content queries, anchors `[B,Q,4]` sigmoid cxcywh; `boxHead` is the
   * detector's shared box MLP (DAB-DETR shares it between decoder refinement and outputs).
   */
  /**
   * tgt and anchors may have batch 1 for queries shared by all images (as learned queries
   * are): everything before the first cross-attention then runs once instead of per image
   * (broadcast, same values); every output has the memory's batch.
   */
  forward(tgt: tf.Tensor3D, anchors: tf.Tensor3D, memory: tf.Tensor3D, pos: tf.Tensor3D, boxHead: MLP, masks: DecoderMasks = {}): DabDecoderOutput {
    const hs: tf.Tensor3D[] = [];
    const references: tf.Tensor3D[] = [anchors];
    let output = tgt;
    let ref = anchors;
    this.layers.forEach((layer, l) => {
      const sine = sineEmbedForPosition(ref, { numFeats: this.d / 2 }); // [B,Q,2d]: y, x, w, h
      const queryPos = this.refPointHead.forward(sine) as tf.Tensor3D;
      const [py, px] = tf.split(sine, 4, -1) as tf.Tensor[];
      let centre: tf.Tensor = tf.concat([py!, px!], -1);
      if (l > 0) centre = tf.mul(centre, this.queryScale.forward(output));
      // Width/height-modulated attention: y half by h_ref/h, x half by w_ref/w.
      const [rw, rh] = tf.split(tf.sigmoid(this.refAnchorHead.forward(output)), 2, -1) as tf.Tensor[];
      const [, , w, h] = tf.split(ref, 4, -1) as tf.Tensor[];
      const [cy, cx] = tf.split(centre, 2, -1) as tf.Tensor[];
      const querySineEmbed = tf.concat([tf.mul(cy!, tf.div(rh!, h!)), tf.mul(cx!, tf.div(rw!, w!))], -1) as tf.Tensor3D;
      output = layer.forward({ tgt: output, queryPos, querySineEmbed, memory, pos, isFirst: l === 0 }, masks);
      if (l < this.layers.length - 1) {
        // (The last layer's refinement feeds nothing: not computed.)
        const refined = tf.sigmoid(tf.add(boxHead.forward(output), inverseSigmoid(ref))) as tf.Tensor3D;
        references.push(refined);
        // The reference detaches; a gradient-free copy also spares the backward pass the
        // sine embeddings and anchor modulation of the next layer, whose gradient ends here.
        ref = stopGradient(refined);
      }
      hs.push(this.norm.forward(output) as tf.Tensor3D);
    });
    const b = memory.shape[0];
    if (references[0]!.shape[0] !== b) references[0] = tf.tile(references[0]!, [b, 1, 1]);
    return { hs, references };
  }
}
