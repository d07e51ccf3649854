import * as tf from '@tensorflow/tfjs-core';
import { Dropout, LayerNorm, Linear, Module, getActivation } from '@detkit/core';
import { MultiheadAttention, type AttentionMasks } from './attention.js';
import { type LayerOptions, subSeed } from './encoder.js';

/** Masks of one decoder pass: memory padding for cross-attention, query isolation for self-attention. */
export interface DecoderMasks {
  memoryKeyPaddingMask?: tf.Tensor2D;
  selfAttnMask?: AttentionMasks['attnMask'];
  /** Isolated contiguous query groups for self-attention, cheaper than `selfAttnMask` (see AttentionOptions.blocks); decoders that do not read it need the mask. */
  selfAttnBlocks?: readonly number[];
}

/**
 * DETR's TransformerDecoderLayer, post-norm: self-attention (q = k = tgt + query_pos),
 * cross-attention (q = tgt + query_pos, k = memory + pos, v = memory), FFN; each followed by
 * residual + norm. Names as the reference (`self_attn`, `multihead_attn`, `linear1/2`, `norm1..3`).
 */
export class TransformerDecoderLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  readonly crossAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norms: [LayerNorm, LayerNorm, LayerNorm];
  private readonly drop: Dropout[];
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(opts: LayerOptions) {
    super();
    const { dModel, seed } = opts;
    this.selfAttn = this.module('self_attn', new MultiheadAttention(dModel, opts.numHeads, { seed: subSeed(seed, 1) }));
    this.crossAttn = this.module('multihead_attn', new MultiheadAttention(dModel, opts.numHeads, { seed: subSeed(seed, 2) }));
    this.linear1 = this.module('linear1', new Linear(dModel, opts.dimFeedforward, { seed: subSeed(seed, 3) }));
    this.linear2 = this.module('linear2', new Linear(opts.dimFeedforward, dModel, { seed: subSeed(seed, 4) }));
    this.norms = [1, 2, 3].map((i) => this.module(`norm${i}`, new LayerNorm(dModel))) as [LayerNorm, LayerNorm, LayerNorm];
    this.drop = this.moduleList('dropouts', [0, 1, 2, 3, 4, 5].map((i) => new Dropout(opts.dropout ?? 0, subSeed(seed, 10 + i))));
    this.act = getActivation(opts.activation ?? 'relu');
  }

  /** tgt, queryPos `[B,Q,d]`; memory, pos `[B,HW,d]`. */
  forward(tgt: tf.Tensor3D, queryPos: tf.Tensor3D, memory: tf.Tensor3D, pos: tf.Tensor3D, masks: DecoderMasks = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const d = this.drop;
      const q = tf.add(tgt, queryPos);
      const sa = this.selfAttn.forward(q, q, tgt, { attnMask: masks.selfAttnMask, dropout: (t) => d[0]!.forward(t) });
      let x = this.norms[0].forward(tf.add(tgt, d[1]!.forward(sa)));
      const ca = this.crossAttn.forward(tf.add(x, queryPos), tf.add(memory, pos), memory, {
        keyPaddingMask: masks.memoryKeyPaddingMask,
        dropout: (t) => d[2]!.forward(t),
      });
      x = this.norms[1].forward(tf.add(x, d[3]!.forward(ca)));
      const ff = this.linear2.forward(d[4]!.forward(this.act(this.linear1.forward(x))));
      return this.norms[2].forward(tf.add(x, d[5]!.forward(ff))) as tf.Tensor3D;
    });
  }
}

export interface DecoderOptions extends LayerOptions {
  numLayers: number;
}

/** DETR's decoder: layers + a final `norm` applied to every intermediate output. */
export class TransformerDecoder extends Module {
  readonly layers: TransformerDecoderLayer[];
  readonly norm: LayerNorm;

  constructor(opts: DecoderOptions) {
    super();
    this.layers = this.moduleList(
      'layers',
      Array.from({ length: opts.numLayers }, (_, i) => new TransformerDecoderLayer({ ...opts, seed: subSeed(opts.seed, 200 + i) })),
    );
    this.norm = this.module('norm', new LayerNorm(opts.dModel));
  }

  /** Normed hidden states after each layer, `[B,Q,d]` each. */
  forward(tgt: tf.Tensor3D, queryPos: tf.Tensor3D, memory: tf.Tensor3D, pos: tf.Tensor3D, masks: DecoderMasks = {}): tf.Tensor3D[] {
    const out: tf.Tensor3D[] = [];
    let x = tgt;
    for (const layer of this.layers) {
      x = layer.forward(x, queryPos, memory, pos, masks);
      out.push(this.norm.forward(x) as tf.Tensor3D);
    }
    return out;
  }
}
