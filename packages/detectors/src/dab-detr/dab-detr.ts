import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, Embedding } from '@detkit/core';
import { inverseSigmoid } from '../box/boxOps.js';
import type { DecodeOptions, DecodeOutput, DecodeResult, Encoded, QueryGroup, QueryGroupDetector } from '../contract/query-groups.js';
import { DetrBase, type DetrCommonOptions } from '../detr/detr-base.js';
import { subSeed } from '../transformer/encoder.js';
import { DabDecoder } from './decoder.js';
import { tidyAny } from '../transformer/tidy.js';

export type DabDetrOptions = DetrCommonOptions;

/** Splits `[B,N,...]` along axis 1 into blocks of `sizes` (zero-size blocks allowed). */
function splitQueries<T extends tf.Tensor>(t: T, sizes: readonly number[]): T[] {
  const nonZero = sizes.filter((s) => s > 0);
  const parts = nonZero.length === 1 ? [t] : (tf.split(t, nonZero, 1) as T[]);
  let k = 0;
  return sizes.map((s) => (s > 0 ? parts[k++]! : (tf.zeros([t.shape[0], 0, ...t.shape.slice(2)]) as T)));
}

/**
 * DAB-DETR (Liu et al., ICLR 2022): queries are learned 4-d anchor boxes (`refpoint_embed`,
 * pre-sigmoid `[Q,4]`) refined layer by layer; content queries start at zeros; class and box
 * heads are shared across layers with an auxiliary loss per layer. Implements the
 * query-group contract: extra groups of anchors are decoded in the same batched pass,
 * isolated by per-block self-attention (each group attends only to itself).
 *
 * Classification is sigmoid focal over C classes (no background logit), as in the reference.
 * Parameter names follow the reference, except that the backbone is `backbone.*` (reference:
 * `backbone.0.body.*`) and the shared box head exists once as `bbox_embed.*` (reference also
 * lists it as `transformer.decoder.bbox_embed.*`).
 */
export class DabDetr extends DetrBase implements QueryGroupDetector {
  readonly refpointEmbed: Embedding;
  readonly decoder: DabDecoder;

  constructor(opts: DabDetrOptions) {
    super('dab-detr', opts, true);
    this.decoder = this.transformer.add('decoder', new DabDecoder({ ...this.layerOptions(opts), numLayers: this.numDecoderLayers, seed: subSeed(opts.seed, 3) }));
    this.refpointEmbed = this.module('refpoint_embed', new Embedding(this.numQueries, 4, { seed: subSeed(opts.seed, 6) }));
    // Box head's last layer starts at zero: the first prediction is the anchor itself.
    tf.tidy(() => {
      const last = this.bboxEmbed.layers[this.bboxEmbed.layers.length - 1]!;
      last.weight.assign(tf.zerosLike(last.weight));
      last.bias!.assign(tf.zerosLike(last.bias!));
    });
  }

  detectionQueries(): QueryGroup {
    return { anchors: this.refpointEmbed.weight };
  }

  private checkGroup(g: QueryGroup, i: number): void {
    const a = g.anchors;
    if (a.rank !== 2 || a.shape[1] !== 4) throw new DetkitError('INVALID_ARGUMENT', `dab-detr decode: group ${i} anchors must be [M,4], got [${a.shape}]`);
    if (g.content && (g.content.rank !== 2 || g.content.shape[0] !== a.shape[0] || g.content.shape[1] !== this.hiddenDim)) {
      throw new DetkitError('INVALID_ARGUMENT', `dab-detr decode: group ${i} content must be [${a.shape[0]},${this.hiddenDim}], got [${g.content.shape}]`);
    }
  }

  decode(encoded: Encoded, groups: readonly QueryGroup[], options: DecodeOptions = {}): DecodeResult {
    groups.forEach((g, i) => this.checkGroup(g, i));
    const withDetection = options.detection ?? true;
    const all: QueryGroup[] = withDetection ? [this.detectionQueries(), ...groups] : [...groups];
    const sizes = all.map((g) => g.anchors.shape[0]);
    const total = sizes.reduce((s, v) => s + v, 0);
    const empty = (): DecodeOutput => ({ logits: [], boxes: [] });
    if (total === 0) return { detection: empty(), groups: groups.map(() => this.emptyOutput(encoded)) };
    const out = tidyAny(() => {
      const d = this.hiddenDim;
      // Batch 1: the queries are the same for every image, so the decoder runs the part
      // before the first cross-attention once (it broadcasts to the memory's batch after).
      const shared = (t: tf.Tensor) => tf.expandDims(t, 0) as tf.Tensor3D;
      const anchors = shared(tf.sigmoid(tf.concat(all.map((g) => g.anchors), 0)));
      const tgt = shared(tf.concat(all.map((g) => g.content ?? tf.zeros([g.anchors.shape[0], d])), 0));
      // Groups isolated by per-block self-attention (same result as a block-diagonal mask, cheaper).
      const { hs, references } = this.decoder.forward(tgt, anchors, encoded.memory, encoded.pos, this.bboxEmbed, {
        memoryKeyPaddingMask: encoded.mask,
        selfAttnBlocks: all.length > 1 ? sizes : undefined,
      });
      // A caller needing only the final layer (a teacher) is spared the earlier layers' heads.
      const keep = options.finalLayerOnly ? hs.length - 1 : 0;
      const joint = this.heads(hs.slice(keep), references.slice(keep).map((r) => inverseSigmoid(r)));
      const perLayer = joint.logits.map((l, k) => ({ logits: splitQueries(l, sizes), boxes: splitQueries(joint.boxes[k]!, sizes) }));
      return all.map((_, gi) => ({ logits: perLayer.map((p) => p.logits[gi]!), boxes: perLayer.map((p) => p.boxes[gi]!) }));
    });
    return withDetection ? { detection: out[0]!, groups: out.slice(1) } : { detection: empty(), groups: out };
  }

  private emptyOutput(encoded: Encoded): DecodeOutput {
    const b = encoded.memory.shape[0];
    return {
      logits: Array.from({ length: this.numDecoderLayers }, () => tf.zeros([b, 0, this.numClasses]) as tf.Tensor3D),
      boxes: Array.from({ length: this.numDecoderLayers }, () => tf.zeros([b, 0, 4]) as tf.Tensor3D),
    };
  }
}
