import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, Linear, Module, linear, xavierUniform } from '@detkit/core';
import { MASKED } from '../contract/group-mask.js';
import { dropEmptyBlocks, isBlockDiagonal, isolatedBlocks, layoutMaskValues, type AttentionLayout } from '../contract/attention-layout.js';

export interface AttentionMasks {
  /** `[B,Lk]`: 1 where a key may be attended (real pixel), 0 for padding. */
  keyPaddingMask?: tf.Tensor2D;
  /** `[Lq,Lk]` additive bias on the scores (0 = allowed, MASKED = blocked), e.g. query-group isolation. */
  attnMask?: tf.Tensor2D;
}

export interface AttentionOptions extends AttentionMasks {
  /**
   * Self-attention among contiguous query blocks of these sizes (sum = Lq = Lk), each attending
   * only within itself: the same result as a block-diagonal `attnMask` (masked scores get exactly
   * zero weight) at sum-of-squares instead of square cost. Not combined with the masks.
   */
  blocks?: readonly number[];
  /**
   * Self-attention over contiguous query blocks with a declared visibility (contract/attention-layout.ts),
   * e.g. DINO's denoising groups beside its detection queries and isolated plugin groups. Blocks
   * that see only themselves and are seen by no other block attend on their own (as `blocks`);
   * the others attend together under a dense mask over just those blocks. A block-diagonal
   * layout is exactly `blocks`. Not combined with `blocks` or the masks.
   */
  layout?: AttentionLayout;
  /** Applied to the attention weights (PyTorch's MultiheadAttention dropout). */
  dropout?: (t: tf.Tensor) => tf.Tensor;
}

/** `[B,L,H*dh]` -> `[B*H,L,dh]`. */
function splitHeads(x: tf.Tensor, heads: number): tf.Tensor3D {
  const [b, l, d] = x.shape as [number, number, number];
  return tf.reshape(tf.transpose(tf.reshape(x, [b, l, heads, d / heads]), [0, 2, 1, 3]), [b * heads, l, d / heads]);
}

/**
 * Multi-head scaled dot-product attention on already-projected inputs, batch first:
 * q `[B,Lq,H*dq]`, k `[B,Lk,H*dq]`, v `[B,Lk,H*dv]` -> `[B,Lq,H*dv]`; scores scaled by dq^-0.5.
 * Only rank-3 x rank-3 matmuls with equal batch dims (the broadcast-matmul gradient bug of
 * tfjs 4.22 concerns rank-3 x rank-2). Masks are additive biases on the scores.
 */
export function multiHeadAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, numHeads: number, opts: AttentionOptions = {}): tf.Tensor3D {
  const [b, lq, dqk] = q.shape as [number, number, number];
  const lk = k.shape[1]!;
  const dv = v.shape[2]!;
  if (dqk % numHeads !== 0 || dv % numHeads !== 0 || k.shape[2] !== dqk || v.shape[1] !== lk || k.shape[0] !== b || v.shape[0] !== b) {
    throw new DetkitError('INVALID_ARGUMENT', `multiHeadAttention: incompatible shapes q [${q.shape}] k [${k.shape}] v [${v.shape}] for ${numHeads} heads`);
  }
  if (opts.layout) {
    if (opts.blocks) throw new DetkitError('INVALID_ARGUMENT', 'multiHeadAttention: give either blocks or layout, not both');
    const layout = dropEmptyBlocks(opts.layout);
    if (layout.sizes.length > 1) {
      if (isBlockDiagonal(layout)) return blockAttention(q, k, v, numHeads, [...layout.sizes], opts);
      return layoutAttention(q, k, v, numHeads, layout, opts);
    }
  }
  const blocks = opts.blocks?.filter((s) => s > 0);
  if (blocks && blocks.length > 1) return blockAttention(q, k, v, numHeads, blocks, opts);
  return tf.tidy(() => {
    const scale = 1 / Math.sqrt(dqk / numHeads);
    const qh = splitHeads(tf.mul(q, scale), numHeads);
    const kh = splitHeads(k, numHeads);
    const vh = splitHeads(v, numHeads);
    let scores: tf.Tensor = tf.reshape(tf.matMul(qh, kh, false, true), [b, numHeads, lq, lk]);
    if (opts.keyPaddingMask) {
      if (opts.keyPaddingMask.shape[0] !== b || opts.keyPaddingMask.shape[1] !== lk) {
        throw new DetkitError('INVALID_ARGUMENT', `multiHeadAttention: keyPaddingMask [${opts.keyPaddingMask.shape}] must be [${b},${lk}]`);
      }
      const bias = tf.mul(tf.sub(1, opts.keyPaddingMask), MASKED);
      scores = tf.add(scores, tf.reshape(bias, [b, 1, 1, lk]));
    }
    if (opts.attnMask) {
      if (opts.attnMask.shape[0] !== lq || opts.attnMask.shape[1] !== lk) {
        throw new DetkitError('INVALID_ARGUMENT', `multiHeadAttention: attnMask [${opts.attnMask.shape}] must be [${lq},${lk}]`);
      }
      scores = tf.add(scores, opts.attnMask);
    }
    let weights = tf.softmax(scores, -1);
    if (opts.dropout) weights = opts.dropout(weights);
    const out = tf.matMul(tf.reshape(weights, [b * numHeads, lq, lk]) as tf.Tensor3D, vh);
    return tf.reshape(tf.transpose(tf.reshape(out, [b, numHeads, lq, dv / numHeads]), [0, 2, 1, 3]), [b, lq, dv]) as tf.Tensor3D;
  });
}

/** `[B*H,L,dh]` -> `[B,L,H*dh]`. */
function mergeHeads(x: tf.Tensor, b: number, heads: number): tf.Tensor3D {
  const [, l, dh] = x.shape as [number, number, number];
  return tf.reshape(tf.transpose(tf.reshape(x, [b, heads, l, dh]), [0, 2, 1, 3]), [b, l, heads * dh]) as tf.Tensor3D;
}

/** multiHeadAttention with `blocks`: one softmax attention per block (see AttentionOptions.blocks). */
function blockAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, numHeads: number, blocks: number[], opts: AttentionOptions): tf.Tensor3D {
  const [b, lq, dqk] = q.shape as [number, number, number];
  const total = blocks.reduce((a, s) => a + s, 0);
  if (total !== lq || k.shape[1] !== lq || opts.attnMask || opts.keyPaddingMask) {
    throw new DetkitError('INVALID_ARGUMENT', `multiHeadAttention: blocks [${blocks}] need Lq = Lk = ${total} (got ${lq}, ${k.shape[1]}) and no attnMask / keyPaddingMask`);
  }
  return tf.tidy(() => {
    const scale = 1 / Math.sqrt(dqk / numHeads);
    const qs = tf.split(splitHeads(tf.mul(q, scale), numHeads), blocks, 1);
    const ks = tf.split(splitHeads(k, numHeads), blocks, 1);
    const vs = tf.split(splitHeads(v, numHeads), blocks, 1);
    const outs = blocks.map((_, i) => {
      let weights = tf.softmax(tf.matMul(qs[i]!, ks[i]!, false, true), -1);
      if (opts.dropout) weights = opts.dropout(weights);
      return tf.matMul(weights, vs[i]!);
    });
    return mergeHeads(tf.concat(outs, 1), b, numHeads);
  });
}

/**
 * multiHeadAttention with a non-block-diagonal `layout`: isolated blocks attend on their own,
 * the other blocks together under the layout's mask restricted to them (masked scores get
 * exactly zero weight, so every output equals the dense masked attention's).
 */
function layoutAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, numHeads: number, layout: AttentionLayout, opts: AttentionOptions): tf.Tensor3D {
  const [b, lq, dqk] = q.shape as [number, number, number];
  const sizes = layout.sizes;
  const total = sizes.reduce((a, s) => a + s, 0);
  if (total !== lq || k.shape[1] !== lq || opts.attnMask || opts.keyPaddingMask) {
    throw new DetkitError('INVALID_ARGUMENT', `multiHeadAttention: layout blocks [${sizes}] need Lq = Lk = ${total} (got ${lq}, ${k.shape[1]}) and no attnMask / keyPaddingMask`);
  }
  const alone = isolatedBlocks(layout);
  const joint = sizes.map((_, i) => i).filter((i) => !alone[i]);
  // The joint blocks' own layout (indices renumbered within them) and its dense mask.
  const jointIndex = new Map(joint.map((j, i) => [j, i]));
  const jointLayout: AttentionLayout = { sizes: joint.map((i) => sizes[i]!), visible: joint.map((i) => layout.visible![i]!.map((j) => jointIndex.get(j)!)) };
  const nj = jointLayout.sizes.reduce((a, s) => a + s, 0);
  // Split into segments: each isolated block, and each run of consecutive joint blocks as one
  // piece (DINO's denoising groups and matching queries are one run: no split and re-concat).
  const segments: Array<{ size: number; joint: boolean }> = [];
  sizes.forEach((size, i) => {
    const last = segments[segments.length - 1];
    if (!alone[i] && last?.joint) last.size += size;
    else segments.push({ size, joint: !alone[i] });
  });
  const segSizes = segments.map((g) => g.size);
  return tf.tidy(() => {
    const scale = 1 / Math.sqrt(dqk / numHeads);
    const split = (x: tf.Tensor) => (segments.length === 1 ? [x] : tf.split(x, segSizes, 1));
    const qs = split(splitHeads(tf.mul(q, scale), numHeads));
    const ks = split(splitHeads(k, numHeads));
    const vs = split(splitHeads(v, numHeads));
    const attend = (qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, mask?: tf.Tensor) => {
      let scores = tf.matMul(qi as tf.Tensor3D, ki as tf.Tensor3D, false, true) as tf.Tensor;
      if (mask) scores = tf.add(scores, mask);
      let weights = tf.softmax(scores, -1);
      if (opts.dropout) weights = opts.dropout(weights);
      return tf.matMul(weights as tf.Tensor3D, vi as tf.Tensor3D);
    };
    const runs = segments.map((g, i) => (g.joint ? i : -1)).filter((i) => i >= 0);
    const gather = (ts: tf.Tensor[]) => (runs.length === 1 ? ts[runs[0]!]! : tf.concat(runs.map((i) => ts[i]!), 1));
    const jointOut = attend(gather(qs), gather(ks), gather(vs), tf.tensor2d(layoutMaskValues(jointLayout), [nj, nj]));
    const runParts = runs.length === 1 ? [jointOut] : tf.split(jointOut, runs.map((i) => segSizes[i]!), 1);
    const outs = segments.map((g, i) => (g.joint ? runParts[runs.indexOf(i)]! : attend(qs[i]!, ks[i]!, vs[i]!)));
    return mergeHeads(outs.length === 1 ? outs[0]! : tf.concat(outs, 1), b, numHeads);
  });
}

/**
 * torch.nn.MultiheadAttention (batch first here): packed `in_proj_weight` `[3d,d]`,
 * `in_proj_bias`, `out_proj`. Init as PyTorch: xavier-uniform in_proj, zero biases.
 */
export class MultiheadAttention extends Module {
  readonly inProjWeight: tf.Variable;
  readonly inProjBias: tf.Variable;
  readonly outProj: Linear;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    opts: { seed?: number } = {},
  ) {
    super();
    if (embedDim % numHeads !== 0) throw new DetkitError('INVALID_ARGUMENT', `MultiheadAttention: embedDim ${embedDim} not divisible by numHeads ${numHeads}`);
    const s = opts.seed;
    this.inProjWeight = this.param('in_proj_weight', xavierUniform([3 * embedDim, embedDim], embedDim, 3 * embedDim, { seed: s }));
    this.inProjBias = this.param('in_proj_bias', tf.zeros([3 * embedDim]));
    this.outProj = this.module('out_proj', new Linear(embedDim, embedDim, { seed: s === undefined ? undefined : s + 1 }));
    tf.tidy(() => this.outProj.bias!.assign(tf.zerosLike(this.outProj.bias!)));
  }

  /** query `[B,Lq,d]`, key/value `[B,Lk,d]` -> `[B,Lq,d]`. */
  forward(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor, opts: AttentionOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const [wq, wk, wv] = tf.split(this.inProjWeight, 3, 0);
      const [bq, bk, bv] = tf.split(this.inProjBias, 3, 0);
      const out = multiHeadAttention(linear(query, wq!, bq), linear(key, wk!, bk), linear(value, wv!, bv), this.numHeads, opts);
      return this.outProj.forward(out) as tf.Tensor3D;
    });
  }
}

/**
 * Conditional-/DAB-DETR's attention: no input projection (the layer projects content and
 * position itself and may concatenate them, so q/k may be wider than v), only `out_proj`
 * `[vdim,vdim]`. Scores scaled by (qkDim/heads)^-0.5 as the reference.
 */
export class ProjectionFreeAttention extends Module {
  readonly outProj: Linear;

  constructor(
    readonly valueDim: number,
    readonly numHeads: number,
    opts: { seed?: number } = {},
  ) {
    super();
    this.outProj = this.module('out_proj', new Linear(valueDim, valueDim, { seed: opts.seed }));
    tf.tidy(() => this.outProj.bias!.assign(tf.zerosLike(this.outProj.bias!)));
  }

  forward(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor, opts: AttentionOptions = {}): tf.Tensor3D {
    return tf.tidy(() => this.outProj.forward(multiHeadAttention(query, key, value, this.numHeads, opts)) as tf.Tensor3D);
  }
}
