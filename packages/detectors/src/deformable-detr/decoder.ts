import * as tf from '@tensorflow/tfjs-core';
import { Dropout, LayerNorm, Linear, MLP, Module, getActivation, stopGradient } from '@detkit/core';
import { inverseSigmoid } from '../box/boxOps.js';
import type { AttentionLayout } from '../contract/attention-layout.js';
import { MultiheadAttention } from '../transformer/attention.js';
import { subSeed } from '../transformer/encoder.js';
import { sineEmbedForPosition } from '../transformer/position-encoding.js';
import type { DeformableLayerOptions } from './encoder.js';
import { MSDeformAttn, type SpatialShapes } from './ms-deform-attn.js';

/** What every decoder layer attends to. */
export interface DecoderMemory {
  memory: tf.Tensor3D;
  shapes: SpatialShapes;
  /** `[B,L,2]` (w, h) fraction of each level covered by the real image. */
  validRatios: tf.Tensor3D;
  keepMask: tf.Tensor2D;
  /** Isolated query blocks for self-attention (detection queries, then each group). */
  blocks?: readonly number[];
  /** Or a declared self-attention layout (DINO: denoising groups, detection queries, isolated groups); see AttentionOptions.layout. */
  layout?: AttentionLayout;
}

/**
 * Deformable DETR's decoder layer, post-norm with the reference names: self-attention among
 * the queries (`self_attn`, q = k = tgt + pos, isolated per block) + `norm2`; deformable
 * cross-attention around the query's reference box (`cross_attn`) + `norm1`; FFN + `norm3`.
 */
export class DeformableDecoderLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  readonly crossAttn: MSDeformAttn;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norms: Record<'norm1' | 'norm2' | 'norm3', LayerNorm>;
  private readonly drop: Dropout[];
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(opts: DeformableLayerOptions) {
    super();
    const { dModel: d, seed } = opts;
    this.crossAttn = this.module('cross_attn', new MSDeformAttn({ dModel: d, numHeads: opts.numHeads, numLevels: opts.numLevels, numPoints: opts.numPoints, seed: subSeed(seed, 1) }));
    this.selfAttn = this.module('self_attn', new MultiheadAttention(d, opts.numHeads, { seed: subSeed(seed, 2) }));
    this.linear1 = this.module('linear1', new Linear(d, opts.dimFeedforward, { seed: subSeed(seed, 3) }));
    this.linear2 = this.module('linear2', new Linear(opts.dimFeedforward, d, { seed: subSeed(seed, 4) }));
    this.norms = { norm1: this.module('norm1', new LayerNorm(d)), norm2: this.module('norm2', new LayerNorm(d)), norm3: this.module('norm3', new LayerNorm(d)) };
    this.drop = this.moduleList('dropouts', [0, 1, 2, 3, 4].map((i) => new Dropout(opts.dropout ?? 0, subSeed(seed, 10 + i))));
    this.act = getActivation(opts.activation ?? 'relu');
  }

  /** tgt, queryPos `[B,N,d]`; reference `[B,N,L,4]` boxes scaled per level. */
  forward(tgt: tf.Tensor3D, queryPos: tf.Tensor3D, reference: tf.Tensor4D, m: DecoderMemory): tf.Tensor3D {
    return tf.tidy(() => {
      const d = this.drop;
      const q = tf.add(tgt, queryPos);
      const sa = this.selfAttn.forward(q, q, tgt, { blocks: m.blocks, layout: m.layout, dropout: (t) => d[0]!.forward(t) });
      let x = this.norms.norm2.forward(tf.add(tgt, d[1]!.forward(sa)));
      const ca = this.crossAttn.forward(tf.add(x, queryPos) as tf.Tensor3D, reference, m.memory, m.shapes, m.keepMask);
      x = this.norms.norm1.forward(tf.add(x, d[2]!.forward(ca)));
      const ff = this.linear2.forward(d[3]!.forward(this.act(this.linear1.forward(x))));
      return this.norms.norm3.forward(tf.add(x, d[4]!.forward(ff))) as tf.Tensor3D;
    });
  }
}

/** What one layer of an anchor-refining decoder hands back: its output, and the box it refined for the next layer (with gradient). */
export interface RefinementStep {
  out: tf.Tensor3D;
  refined?: tf.Tensor3D;
}

/**
 * The plumbing Deformable DETR's and DINO's decoders share: the layers (`layers.i`) and the
 * positional-query head (`ref_point_head`), and the per-layer loop of iterative box refinement.
 * Per layer the current reference box `ref` (sigmoid cxcywh, no gradient), scaled by the valid
 * ratios, is the cross-attention's reference; `queryPos` (the subclass's) gives its positional
 * query; `heads` (the caller's) reads the layer's output and returns the refined box, which
 * feeds the next layer detached (no gradient path), as in the reference.
 */
export abstract class AnchorRefinementDecoder extends Module {
  readonly layers: DeformableDecoderLayer[];
  readonly refPointHead: MLP;
  protected readonly d: number;

  constructor(opts: DeformableLayerOptions & { numLayers: number }) {
    super();
    const d = (this.d = opts.dModel);
    this.layers = this.moduleList(
      'layers',
      Array.from({ length: opts.numLayers }, (_, i) => new DeformableDecoderLayer({ ...opts, seed: subSeed(opts.seed, 300 + i) })),
    );
    this.refPointHead = this.module('ref_point_head', new MLP(2 * d, d, d, 2, { seed: subSeed(opts.seed, 1) }));
  }

  /** Layer l's positional query `[B,N,d]` from its reference box `ref` `[B,N,4]`, the same scaled per level (`reference` `[B,N,L,4]`) and the previous output. */
  protected abstract queryPos(l: number, ref: tf.Tensor3D, reference: tf.Tensor4D, output: tf.Tensor3D): tf.Tensor3D;

  /** Runs the layers from content `tgt` `[B,N,d]` and anchors `[B,N,4]`; returns each layer's `heads` result (run in the layer's tidy). */
  protected refineLayers<R extends RefinementStep>(tgt: tf.Tensor3D, anchors: tf.Tensor3D, m: DecoderMemory, heads: (l: number, out: tf.Tensor3D, ref: tf.Tensor3D) => R): R[] {
    const [B, N] = tgt.shape;
    const L = m.shapes.length;
    const ratios4 = tf.tidy(() => tf.reshape(tf.concat([m.validRatios, m.validRatios], -1), [B, 1, L, 4]));
    const steps: R[] = [];
    let output = tgt;
    let ref = anchors;
    this.layers.forEach((layer, l) => {
      const step = tf.tidy(() => {
        const reference = tf.mul(tf.reshape(ref, [B, N, 1, 4]), ratios4) as tf.Tensor4D;
        const out = layer.forward(output, this.queryPos(l, ref, reference, output), reference, m);
        return heads(l, out, ref) as unknown as tf.TensorContainer;
      }) as unknown as R;
      steps.push(step);
      output = step.out;
      if (step.refined) ref = stopGradient(step.refined);
    });
    ratios4.dispose();
    return steps;
  }
}

export interface DeformableDecoderOutput {
  /** Hidden states after each layer `[B,N,d]`. */
  hs: tf.Tensor3D[];
  /** Each layer's refined boxes, sigmoid cxcywh `[B,N,4]` (with gradient: the layer's box output). */
  boxes: tf.Tensor3D[];
}

/**
 * Decoder with DAB-style anchor queries and iterative box refinement: per layer the current
 * box gives the positional query `ref_point_head(sine(box))` (scaled by `query_scale(tgt)`
 * after layer 0) and, scaled by the valid ratios, the cross-attention's reference boxes; the
 * layer's own box head (`bboxHeads[l]`) refines the box in inverse-sigmoid space; the refined
 * box feeds the next layer detached (no gradient path), as in the reference.
 */
export class DeformableDecoder extends AnchorRefinementDecoder {
  readonly queryScale: MLP;

  constructor(opts: DeformableLayerOptions & { numLayers: number }) {
    super(opts);
    this.queryScale = this.module('query_scale', new MLP(this.d, this.d, this.d, 2, { seed: subSeed(opts.seed, 2) }));
  }

  protected queryPos(l: number, ref: tf.Tensor3D, _reference: tf.Tensor4D, output: tf.Tensor3D): tf.Tensor3D {
    const pos = this.refPointHead.forward(sineEmbedForPosition(ref, { numFeats: this.d / 2 })) as tf.Tensor3D;
    return l > 0 ? (tf.mul(pos, this.queryScale.forward(output)) as tf.Tensor3D) : pos;
  }

  /** tgt `[B,N,d]` content, anchors `[B,N,4]` sigmoid boxes (inputs: no gradient expected). */
  forward(tgt: tf.Tensor3D, anchors: tf.Tensor3D, m: DecoderMemory, bboxHeads: readonly MLP[]): DeformableDecoderOutput {
    const steps = this.refineLayers(tgt, anchors, m, (l, out, ref) => ({
      out,
      refined: tf.sigmoid(tf.add(bboxHeads[l]!.forward(out), inverseSigmoid(ref))) as tf.Tensor3D,
    }));
    return { hs: steps.map((s) => s.out), boxes: steps.map((s) => s.refined) };
  }
}
