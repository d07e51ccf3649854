import * as tf from '@tensorflow/tfjs-core';
import { Dropout, LayerNorm, Linear, MLP, Module, getActivation } from '@detkit/core';
import { MultiheadAttention } from './attention.js';

export interface LayerOptions {
  dModel: number;
  numHeads: number;
  dimFeedforward: number;
  dropout?: number;
  activation?: 'relu' | 'gelu';
  seed?: number;
}

/** Seeds for sub-layers: distinct, reproducible offsets from one base seed. */
export function subSeed(seed: number | undefined, k: number): number | undefined {
  return seed === undefined ? undefined : seed + 97 * k;
}

/**
 * DETR's TransformerEncoderLayer, post-norm: self-attention with q = k = src + pos, v = src;
 * residual + norm1; feed-forward; residual + norm2. Parameter names as the reference
 * (`self_attn.in_proj_weight`, `linear1`, `linear2`, `norm1`, `norm2`); the FFN linears are
 * registered on the layer itself so names match.
 */
export class TransformerEncoderLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  private readonly drop: Dropout[];
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(opts: LayerOptions) {
    super();
    const { dModel, seed } = opts;
    const p = opts.dropout ?? 0;
    this.selfAttn = this.module('self_attn', new MultiheadAttention(dModel, opts.numHeads, { seed: subSeed(seed, 1) }));
    this.linear1 = this.module('linear1', new Linear(dModel, opts.dimFeedforward, { seed: subSeed(seed, 2) }));
    this.linear2 = this.module('linear2', new Linear(opts.dimFeedforward, dModel, { seed: subSeed(seed, 3) }));
    this.norm1 = this.module('norm1', new LayerNorm(dModel));
    this.norm2 = this.module('norm2', new LayerNorm(dModel));
    // attention weights, after attention, inside the FFN, after the FFN (DETR's dropout placement).
    this.drop = this.moduleList('dropouts', [0, 1, 2, 3].map((i) => new Dropout(p, subSeed(seed, 10 + i))));
    this.act = getActivation(opts.activation ?? 'relu');
  }

  /** src, pos `[B,L,d]`, keyPaddingMask `[B,L]` (1 = real). */
  forward(src: tf.Tensor3D, pos: tf.Tensor3D, keyPaddingMask?: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const qk = tf.add(src, pos);
      const attn = this.selfAttn.forward(qk, qk, src, { keyPaddingMask, dropout: (t) => this.drop[0]!.forward(t) });
      let x = this.norm1.forward(tf.add(src, this.drop[1]!.forward(attn)));
      const ff = this.linear2.forward(this.drop[2]!.forward(this.act(this.linear1.forward(x))));
      x = this.norm2.forward(tf.add(x, this.drop[3]!.forward(ff)));
      return x as tf.Tensor3D;
    });
  }
}

export interface EncoderOptions extends LayerOptions {
  numLayers: number;
  /** DAB-DETR scales the positional encoding per layer by MLP(output) (`query_scale`). */
  conditionalPosScale?: boolean;
}

/** Stack of encoder layers (`layers.N`), optionally with DAB-DETR's `query_scale` MLP. */
export class TransformerEncoder extends Module {
  readonly layers: TransformerEncoderLayer[];
  readonly queryScale?: MLP;

  constructor(opts: EncoderOptions) {
    super();
    this.layers = this.moduleList(
      'layers',
      Array.from({ length: opts.numLayers }, (_, i) => new TransformerEncoderLayer({ ...opts, seed: subSeed(opts.seed, 100 + i) })),
    );
    if (opts.conditionalPosScale) this.queryScale = this.module('query_scale', new MLP(opts.dModel, opts.dModel, opts.dModel, 2, { seed: subSeed(opts.seed, 7) }));
  }

  forward(src: tf.Tensor3D, pos: tf.Tensor3D, keyPaddingMask?: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      let x = src;
      for (const layer of this.layers) {
        const p = this.queryScale ? (tf.mul(pos, this.queryScale.forward(x)) as tf.Tensor3D) : pos;
        x = layer.forward(x, p, keyPaddingMask);
      }
      return x;
    });
  }
}
