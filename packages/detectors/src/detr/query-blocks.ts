import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '@detkit/core';
import type { DecodeOptions, DecodeOutput, DecodeResult, QueryGroup } from '../contract/query-groups.js';
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
  detectionQueries(): QueryGroup;
}

/** Every query of a `decode` call, the blocks (detection queries, then each group) concatenated. */
export interface JointQueries {
  /** `[N,4]` anchor boxes (sigmoid normalised cxcywh). */
  anchors: tf.Tensor2D;
  /** `[N,d]` content queries (zeros for a block without content). */
  content: tf.Tensor2D;
  /** Block sizes for the self-attention, when there is more than one block. */
  blocks?: number[];
}

function checkGroup(name: string, hiddenDim: number, g: QueryGroup, i: number): void {
  const a = g.anchors;
  if (a.rank !== 2 || a.shape[1] !== 4) throw new DetkitError('INVALID_ARGUMENT', `${name} decode: group ${i} anchors must be [M,4], got [${a.shape}]`);
  if (g.content && (g.content.rank !== 2 || g.content.shape[0] !== a.shape[0] || g.content.shape[1] !== hiddenDim)) {
    throw new DetkitError('INVALID_ARGUMENT', `${name} decode: group ${i} content must be [${a.shape[0]},${hiddenDim}], got [${g.content.shape}]`);
  }
}

/**
 * The query-group plumbing of an anchor-query detector's `decode` (DAB-DETR, Deformable DETR):
 * checks the groups, lines up the detection queries (unless `options.detection` is false) and
 * the groups as blocks, decodes them all in ONE pass with `decodeJoint` (per-layer outputs
 * `[B,N,...]`, groups isolated by the self-attention blocks) and splits the outputs back per block.
 * `name` (the detector's registered name) prefixes the errors; `batchSize` is the memory's.
 */
export function decodeQueryBlocks(
  who: AnchorQueryDecoder,
  name: string,
  batchSize: number,
  groups: readonly QueryGroup[],
  options: DecodeOptions,
  decodeJoint: (queries: JointQueries) => DecodeOutput,
): DecodeResult {
  groups.forEach((g, i) => checkGroup(name, who.hiddenDim, g, i));
  const withDetection = options.detection ?? true;
  const all: QueryGroup[] = withDetection ? [who.detectionQueries(), ...groups] : [...groups];
  const sizes = all.map((g) => g.anchors.shape[0]);
  const total = sizes.reduce((s, v) => s + v, 0);
  const empty = (): DecodeOutput => ({ logits: [], boxes: [] });
  if (total === 0) return { detection: empty(), groups: groups.map(() => emptyOutput(who, batchSize)) };
  const out = tidyAny(() => {
    const joint = decodeJoint({
      anchors: tf.sigmoid(tf.concat(all.map((g) => g.anchors), 0)) as tf.Tensor2D,
      content: tf.concat(all.map((g) => g.content ?? tf.zeros([g.anchors.shape[0], who.hiddenDim])), 0) as tf.Tensor2D,
      blocks: all.length > 1 ? sizes : undefined,
    });
    const perLayer = joint.logits.map((l, k) => ({ logits: splitQueries(l, sizes), boxes: splitQueries(joint.boxes[k]!, sizes) }));
    return all.map((_, gi) => ({ logits: perLayer.map((p) => p.logits[gi]!), boxes: perLayer.map((p) => p.boxes[gi]!) }));
  });
  return withDetection ? { detection: out[0]!, groups: out.slice(1) } : { detection: empty(), groups: out };
}

/** A group of zero queries: zero-size outputs for every decoder layer. */
function emptyOutput(who: AnchorQueryDecoder, b: number): DecodeOutput {
  return {
    logits: Array.from({ length: who.numDecoderLayers }, () => tf.zeros([b, 0, who.numClasses]) as tf.Tensor3D),
    boxes: Array.from({ length: who.numDecoderLayers }, () => tf.zeros([b, 0, 4]) as tf.Tensor3D),
  };
}
