import * as tf from '@tensorflow/tfjs-core';
import { Dropout, LayerNorm, Linear, Module, getActivation } from '@detkit/core';
import { ProjectionFreeAttention } from '../transformer/attention.js';
import type { DecoderMasks } from '../transformer/decoder.js';
import { type LayerOptions, subSeed } from '../transformer/encoder.js';

/** Concatenates per head: `[B,L,H*a]` and `[B,L,H*b]` -> `[B,L,H*(a+b)]` with head h = [a_h, b_h]. */
function concatPerHead(a: tf.Tensor, b: tf.Tensor, heads: number): tf.Tensor {
  const [n, l, da] = a.shape as [number, number, number];
  const db = b.shape[2]!;
  return tf.reshape(tf.concat([tf.reshape(a, [n, l, heads, da / heads]), tf.reshape(b, [n, l, heads, db / heads])], 3), [n, l, da + db]);
}

/** `t` with batch `b` (tiled from batch 1; queries shared by all images). */
function toBatch(t: tf.Tensor, b: number): tf.Tensor {
  return t.shape[0] === b ? t : tf.tile(t, [b, ...t.shape.slice(1).map(() => 1)]);
}

export interface DabLayerInputs {
  /** Content queries `[B,Q,d]`. */
  tgt: tf.Tensor3D;
  /** Positional queries MLP(sine(anchor)) `[B,Q,d]`. */
  queryPos: tf.Tensor3D;
  /** Scaled and width/height-modulated sine embedding of the anchor centre `[B,Q,d]`. */
  querySineEmbed: tf.Tensor3D;
  memory: tf.Tensor3D;
  pos: tf.Tensor3D;
  isFirst: boolean;
}

/**
 * DAB-DETR's decoder layer (Conditional-DETR style): content and positional parts projected
 * separately; in cross-attention each head's query is [content_h, sine_h] and key is
 * [memory_h, pos_h] (so position and content scores add up), with the positional query
 * (`ca_qpos_proj`) only added in the first layer. Post-norm; reference parameter names.
 */
export class DabDecoderLayer extends Module {
  private readonly proj: Record<string, Linear> = {};
  readonly selfAttn: ProjectionFreeAttention;
  readonly crossAttn: ProjectionFreeAttention;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norms: [LayerNorm, LayerNorm, LayerNorm];
  private readonly drop: Dropout[];
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(
    opts: LayerOptions,
    readonly isFirst: boolean,
  ) {
    super();
    const { dModel: d, numHeads, seed } = opts;
    const names = ['sa_qcontent_proj', 'sa_qpos_proj', 'sa_kcontent_proj', 'sa_kpos_proj', 'sa_v_proj'];
    names.push('ca_qcontent_proj', ...(isFirst ? ['ca_qpos_proj'] : []), 'ca_kcontent_proj', 'ca_kpos_proj', 'ca_v_proj', 'ca_qpos_sine_proj');
    names.forEach((n, i) => (this.proj[n] = this.module(n, new Linear(d, d, { seed: subSeed(seed, 20 + i) }))));
    this.selfAttn = this.module('self_attn', new ProjectionFreeAttention(d, numHeads, { seed: subSeed(seed, 1) }));
    this.crossAttn = this.module('cross_attn', new ProjectionFreeAttention(d, numHeads, { seed: subSeed(seed, 2) }));
    this.linear1 = this.module('linear1', new Linear(d, opts.dimFeedforward, { seed: subSeed(seed, 3) }));
    this.linear2 = this.module('linear2', new Linear(opts.dimFeedforward, d, { seed: subSeed(seed, 4) }));
    this.norms = [1, 2, 3].map((i) => this.module(`norm${i}`, new LayerNorm(d))) as [LayerNorm, LayerNorm, LayerNorm];
    this.drop = this.moduleList('dropouts', [0, 1, 2, 3, 4, 5].map((i) => new Dropout(opts.dropout ?? 0, subSeed(seed, 10 + i))));
    this.act = getActivation(opts.activation ?? 'relu');
  }

  private p(name: string, x: tf.Tensor): tf.Tensor {
    return this.proj[name]!.forward(x);
  }

  forward(x: DabLayerInputs, masks: DecoderMasks = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const d = this.drop;
      const heads = this.selfAttn.numHeads;
      // Self-attention among queries (isolated per group by masks.selfAttnMask).
      const q = tf.add(this.p('sa_qcontent_proj', x.tgt), this.p('sa_qpos_proj', x.queryPos));
      const k = tf.add(this.p('sa_kcontent_proj', x.tgt), this.p('sa_kpos_proj', x.queryPos));
      // Inputs of batch 1 (shared queries) stay batch 1 up to the cross-attention.
      const v = this.p('sa_v_proj', x.tgt);
      const bq = Math.max(q.shape[0]!, k.shape[0]!, v.shape[0]!);
      const sa = this.selfAttn.forward(toBatch(q, bq), toBatch(k, bq), toBatch(v, bq), { attnMask: masks.selfAttnMask, blocks: masks.selfAttnBlocks, dropout: (t) => d[0]!.forward(t) });
      let tgt = this.norms[0].forward(tf.add(x.tgt, d[1]!.forward(sa)));
      // Cross-attention: [content, position] per head for queries and keys.
      let qc = this.p('ca_qcontent_proj', tgt);
      let kc = this.p('ca_kcontent_proj', x.memory);
      const kPos = this.p('ca_kpos_proj', x.pos);
      if (this.isFirst) {
        qc = tf.add(qc, this.p('ca_qpos_proj', x.queryPos));
        kc = tf.add(kc, kPos);
      }
      const qs = concatPerHead(qc, this.p('ca_qpos_sine_proj', x.querySineEmbed), heads);
      const ks = concatPerHead(kc, kPos, heads);
      const ca = this.crossAttn.forward(toBatch(qs, ks.shape[0]!), ks, this.p('ca_v_proj', x.memory), {
        keyPaddingMask: masks.memoryKeyPaddingMask,
        dropout: (t) => d[2]!.forward(t),
      });
      tgt = this.norms[1].forward(tf.add(tgt, d[3]!.forward(ca)));
      const ff = this.linear2.forward(d[4]!.forward(this.act(this.linear1.forward(tgt))));
      return this.norms[2].forward(tf.add(tgt, d[5]!.forward(ff))) as tf.Tensor3D;
    });
  }
}
