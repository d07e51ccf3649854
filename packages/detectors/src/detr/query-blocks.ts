import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '@detkit/core';
import { composeLayout, type AttentionLayout } from '../contract/attention-layout.js';
import { groupSize, type DecodeOptions, type DecodeOutput, type DecodeResult, type Encoded, type QueryGroup } from '../contract/query-groups.js';
import { tidyAny } from '../transformer/tidy.js';

/** Splits `[B,N,...]` along axis 1 into blocks of `sizes` (zero-size blocks allowed). */
export function splitQueries<T extends tf.Tensor>(t: T, sizes: readonly number[]): T[] {
  const nonZero = sizes.filter((s) => s > 0);
  const parts = nonZero.length === 1 ? [t] : (tf.split(t, nonZero, 1) as T[]);
  let k = 0;
  return sizes.map((s) => (s > 0 ? parts[k++]! : (tf.zeros([t.shape[0], 0, ...t.shape.slice(2)]) as T)));
}

/** The detector an anchor-query `decode` belongs to. */
export interface AnchorQueryDecoder {
  readonly hiddenDim: number;
  readonly numClasses: number;
  readonly numDecoderLayers: number;
  detectionQueries(encoded?: Encoded): QueryGroup;
}

/** Every query of a `decode` call, the blocks (own extra queries, detection queries, then each group) concatenated. */
export interface JointQueries {
  /** `[N,4]` anchor boxes (sigmoid normalised cxcywh), or `[B,N,4]` when any block is per image. */
  anchors: tf.Tensor2D | tf.Tensor3D;
  /** `[N,d]` (or `[B,N,d]`) content queries (zeros for a block without content). */
  content: tf.Tensor2D | tf.Tensor3D;
  /** Block sizes for the self-attention when every block is isolated and there is more than one. */
  blocks?: number[];
  /** The self-attention layout when the detector's own extra queries are present (not block-diagonal). */
  layout?: AttentionLayout;
}

/**
 * A detector's own extra queries (DINO's denoising groups), decoded in the same pass BEFORE its
 * detection queries, per image, with the attention layout it declares for itself.
 */
export interface OwnQueries {
  /** `[B,N,4]` pre-sigmoid anchors. */
  anchors: tf.Tensor3D;
  /** `[B,N,d]` content queries. */
  content: tf.Tensor3D;
  /**
   * Layout over the own blocks followed by the detection queries as the LAST block (sizes sum
   * N + Q). Plugin groups come after, isolated, whatever this says (composeLayout).
   */
  layout: AttentionLayout;
}

export interface QueryBlockExtras {
  /** The detection queries to decode (default `who.detectionQueries()`): a detector that selects them per image passes its selection. */
  detection?: QueryGroup;
  own?: OwnQueries;
}

function checkGroup(name: string, hiddenDim: number, batchSize: number, g: QueryGroup, i: number): void {
  const a = g.anchors;
  const shapeOk = (a.rank === 2 || (a.rank === 3 && a.shape[0] === batchSize)) && a.shape[a.rank - 1] === 4;
  if (!shapeOk) throw new DetkitError('INVALID_ARGUMENT', `${name} decode: group ${i} anchors must be [M,4] or [${batchSize},M,4], got [${a.shape}]`);
  const m = groupSize(g);
  if (g.content) {
    const c = g.content;
    const ok = (c.rank === 2 || (c.rank === 3 && c.shape[0] === batchSize)) && c.shape[c.rank - 2] === m && c.shape[c.rank - 1] === hiddenDim;
    if (!ok) throw new DetkitError('INVALID_ARGUMENT', `${name} decode: group ${i} content must be [${m},${hiddenDim}] or [${batchSize},${m},${hiddenDim}], got [${c.shape}]`);
  }
}

/**
 * The query-group plumbing of an anchor-query detector's `decode` (DAB-DETR, Deformable DETR,
 * DINO): checks the groups, lines up the detector's own extra queries (if any), the detection
 * queries (unless `options.detection` is false) and the groups as blocks, decodes them all in
 * ONE pass with `decodeJoint` (per-layer outputs `[B,N,...]`; groups isolated by the
 * self-attention blocks / layout) and splits the outputs back per block. Shared `[M,...]`
 * blocks are tiled to the batch only when some block is per image.
 * `name` (the detector's registered name) prefixes the errors; `batchSize` is the memory's.
 */
export function decodeQueryBlocks(
  who: AnchorQueryDecoder,
  name: string,
  batchSize: number,
  groups: readonly QueryGroup[],
  options: DecodeOptions,
  decodeJoint: (queries: JointQueries) => DecodeOutput,
  extras: QueryBlockExtras = {},
): DecodeResult & { own?: DecodeOutput } {
  groups.forEach((g, i) => checkGroup(name, who.hiddenDim, batchSize, g, i));
  const withDetection = options.detection ?? true;
  const own = extras.own;
  if (own && !withDetection) throw new DetkitError('INVALID_ARGUMENT', `${name} decode: its own extra queries need the detection queries (their layout refers to them)`);
  const detection = withDetection ? (extras.detection ?? who.detectionQueries()) : undefined;
  if (detection) checkGroup(name, who.hiddenDim, batchSize, detection, -1);
  const all: QueryGroup[] = [...(own ? [{ anchors: own.anchors, content: own.content }] : []), ...(detection ? [detection] : []), ...groups];
  const sizes = all.map(groupSize);
  const detSize = detection ? groupSize(detection) : 0;
  if (own) {
    const ls = own.layout.sizes;
    const ownN = sizes[0]!;
    if (ls[ls.length - 1] !== detSize || ls.reduce((s, v) => s + v, 0) !== ownN + detSize) {
      throw new DetkitError('INVALID_ARGUMENT', `${name} decode: own query layout [${ls}] must cover its ${ownN} own queries then the ${detSize} detection queries`);
    }
  }
  const total = sizes.reduce((s, v) => s + v, 0);
  const empty = (): DecodeOutput => ({ logits: [], boxes: [] });
  if (total === 0) return { detection: empty(), groups: groups.map(() => emptyOutput(who, batchSize)) };
  const perImage = all.some((g) => g.anchors.rank === 3 || g.content?.rank === 3);
  const out = tidyAny(() => {
    const lineUp = (t: tf.Tensor) => (perImage && t.rank === 2 ? tf.tile(tf.expandDims(t, 0), [batchSize, 1, 1]) : t);
    const contentOf = (g: QueryGroup) => g.content ?? tf.zeros(g.anchors.rank === 3 ? [batchSize, groupSize(g), who.hiddenDim] : [groupSize(g), who.hiddenDim]);
    const axis = perImage ? 1 : 0;
    const layout = own ? composeLayout(own.layout, detSize, sizes.slice(1 + (detection ? 1 : 0))) : undefined;
    const joint = decodeJoint({
      anchors: tf.sigmoid(tf.concat(all.map((g) => lineUp(g.anchors)), axis)) as tf.Tensor2D | tf.Tensor3D,
      content: tf.concat(all.map((g) => lineUp(contentOf(g))), axis) as tf.Tensor2D | tf.Tensor3D,
      blocks: !own && all.length > 1 ? sizes : undefined,
      layout,
    });
    const perLayer = joint.logits.map((l, k) => ({ logits: splitQueries(l, sizes), boxes: splitQueries(joint.boxes[k]!, sizes) }));
    return all.map((_, gi) => ({ logits: perLayer.map((p) => p.logits[gi]!), boxes: perLayer.map((p) => p.boxes[gi]!) }));
  });
  const ownOut = own ? out.shift() : undefined;
  const result = detection ? { detection: out[0]!, groups: out.slice(1) } : { detection: empty(), groups: out };
  return ownOut ? { ...result, own: ownOut } : result;
}

/** A group of zero queries: zero-size outputs for every decoder layer. */
function emptyOutput(who: AnchorQueryDecoder, b: number): DecodeOutput {
  return {
    logits: Array.from({ length: who.numDecoderLayers }, () => tf.zeros([b, 0, who.numClasses]) as tf.Tensor3D),
    boxes: Array.from({ length: who.numDecoderLayers }, () => tf.zeros([b, 0, 4]) as tf.Tensor3D),
  };
}
