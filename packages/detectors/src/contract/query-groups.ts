import type * as tf from '@tensorflow/tfjs-core';
import type { Batch, ForwardResult, TrainableModel } from '@detkit/core';

/**
 * The query-group contract: how a DETR-family detector decodes extra, isolated sets of
 * queries ("query groups") next to its own detection queries. KD-DETR's distillation points
 * and DINO-style denoising queries are both query groups. See packages/detectors/README.md.
 */

/**
 * One set of extra queries: shared by every image of the batch (`[M,...]`), or one set per
 * image (`[B,M,...]`, e.g. DINO's queries, which are selected per image from its encoder).
 */
export interface QueryGroup {
  /** `[M,4]` or `[B,M,4]` anchor boxes, pre-sigmoid normalised cxcywh (sigmoid gives the box). */
  anchors: tf.Tensor2D | tf.Tensor3D;
  /** `[M,d]` or `[B,M,d]` content queries; zeros (DAB-DETR's content init) when absent. */
  content?: tf.Tensor2D | tf.Tensor3D;
}

/** A group's query count M (`[M,4]` or `[B,M,4]` anchors). */
export function groupSize(g: QueryGroup): number {
  return g.anchors.shape[g.anchors.rank - 2]!;
}

/** Per decoder layer (first to last) outputs for one set of queries. */
export interface DecodeOutput {
  /** `[B,M,C]` class logits (pre-sigmoid: sigmoid focal classification, no background class). */
  logits: tf.Tensor3D[];
  /** `[B,M,4]` boxes, sigmoid normalised cxcywh relative to the unpadded image. */
  boxes: tf.Tensor3D[];
}

/** What `encode` returns: everything the decoder needs, computed once per batch. */
export interface Encoded {
  /** `[B,HW,d]` encoder output. */
  memory: tf.Tensor3D;
  /** `[B,HW]` 1 where the memory token covers real pixels, 0 for padding. */
  mask: tf.Tensor2D;
  /** `[B,HW,d]` positional encoding of the memory tokens. */
  pos: tf.Tensor3D;
  /** Feature map size `[h, w]` the tokens were flattened from (row-major). */
  featureSize: [number, number];
}

export interface DecodeOptions {
  /**
   * Also decode the detector's own detection queries (default true). The groups' outputs are
   * identical either way (isolation), so a hook that already has the detection outputs from
   * `forwardTrain` passes `false` and pays only for its own queries.
   */
  detection?: boolean;
  /**
   * Only the final decoder layer's outputs are needed (e.g. a frozen teacher's targets): a
   * detector may then skip the class/box heads of the earlier layers and return one-element
   * arrays. A hint: detectors that ignore it return every layer, so read the LAST element.
   */
  finalLayerOnly?: boolean;
}

export interface DecodeResult {
  /** Outputs of the detection queries; empty arrays when `DecodeOptions.detection` is false. */
  detection: DecodeOutput;
  /** Outputs per group, in the order the groups were given. */
  groups: DecodeOutput[];
}

/** What `forwardTrain` exposes in `ForwardResult.outputs` for hooks. */
export interface QueryGroupTrainOutputs {
  encoded: Encoded;
  /** Aliases of `encoded`'s fields, for hooks that only need the memory. */
  memory: tf.Tensor3D;
  masks: tf.Tensor2D;
  pos: tf.Tensor3D;
  detection: DecodeOutput;
  /** Outputs of the extra groups passed to `forwardTrain` (empty when none). */
  groups: DecodeOutput[];
}

export interface ForwardTrainOptions {
  /** Extra groups decoded in the same pass; never matched to ground truth, never in L_det. */
  groups?: QueryGroup[];
}

export interface QueryGroupDetector extends TrainableModel {
  readonly numClasses: number;
  /** Detection queries per image. */
  readonly numQueries: number;
  readonly hiddenDim: number;
  readonly numDecoderLayers: number;
  readonly boxFormat: 'cxcywh-normalized';
  /** Backbone + encoder, once per batch. `images` `[B,H,W,C]`, `masks` `[B,H,W]` (1 = real pixel). */
  encode(images: tf.Tensor4D, masks: tf.Tensor3D): Encoded;
  /**
   * Decodes the detection queries and every group in ONE batched decoder pass; groups are
   * isolated from each other and from the detection queries (and from any extra queries of the
   * detector's own, such as DINO's denoising groups, whose attention the detector declares as an
   * `AttentionLayout`): self-attention runs within each group's block of queries (same outputs
   * as a block-diagonal mask, at a sum-of-squares cost); cross-attention to the memory is per
   * query and unaffected. Shared (`[M,4]`) and per-image (`[B,M,4]`) groups may be mixed.
   */
  decode(encoded: Encoded, groups: readonly QueryGroup[], options?: DecodeOptions): DecodeResult;
  /**
   * The detector's own detection queries, pre-sigmoid anchors (and content when it has one).
   * Static queries (DAB-DETR / Deformable DETR `refpoint_embed.weight`, `[Q,4]`) ignore
   * `encoded` and are live variables: do not dispose them. Queries selected per image (DINO:
   * the top-Q encoder proposals, `[B,Q,4]`, detached, with its learned content `[Q,d]`) need
   * `encoded` (the detector's own `encode` output) and are new tensors: run it in a tf.tidy.
   */
  detectionQueries(encoded?: Encoded): QueryGroup;
  /**
   * Optional: the detection queries' content when it is the same for every image (`[Q,d]`, a live
   * variable: DINO's `tgt_embed`), so a caller that needs only the content (KD-DETR's 'learned'
   * point content) skips a per-image query selection. Absent: use `detectionQueries(encoded).content`.
   */
  detectionContent?(): tf.Tensor2D | undefined;
  forwardTrain(batch: Batch, options?: ForwardTrainOptions): ForwardResult & { outputs: QueryGroupTrainOutputs };
}

/** Type guard: does `x` implement the query-group contract? */
export function isQueryGroupDetector(x: unknown): x is QueryGroupDetector {
  if (typeof x !== 'object' || x === null) return false;
  const d = x as Partial<QueryGroupDetector>;
  return (
    typeof d.encode === 'function' &&
    typeof d.decode === 'function' &&
    typeof d.detectionQueries === 'function' &&
    typeof d.forwardTrain === 'function' &&
    typeof d.predict === 'function' &&
    typeof d.numClasses === 'number' &&
    typeof d.numQueries === 'number' &&
    typeof d.hiddenDim === 'number' &&
    typeof d.numDecoderLayers === 'number' &&
    d.boxFormat === 'cxcywh-normalized'
  );
}
