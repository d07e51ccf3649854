import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, Embedding, lossNormalizer, type Batch, type ForwardSteps, type LossTerms } from '@detkit/core';
import type { DecodeOptions, DecodeOutput, DecodeResult, Encoded, ForwardTrainOptions, QueryGroup, QueryGroupDetector, QueryGroupTrainOutputs } from '../contract/query-groups.js';
import { MultiScaleSetPredictor } from '../deformable-detr/multi-scale-detector.js';
import type { DetrCommonOptions } from '../detr/detr-base.js';
import { decodeQueryBlocks, type OwnQueries } from '../detr/query-blocks.js';
import { mulberry32 } from '../faster-rcnn/uniform.js';
import { subSeed } from '../transformer/encoder.js';
import { tidyAny } from '../transformer/tidy.js';
import { dinoLossSteps } from './criterion.js';
import { makeDenoisingQueries, type DenoisingQueries, type UniformSource } from './denoising.js';
import { selectQueries, type QuerySelection } from './query-selection.js';
import { DinoTransformer } from './transformer.js';
import { checkDinoOptions } from './validate.js';

export interface DinoOptions extends DetrCommonOptions {
  /** Feature levels: the backbone's last levels plus at most one extra stride-2 level (default 4). */
  numFeatureLevels?: number;
  /** Sampling points per head and level, in encoder and decoder (default 4). */
  numPoints?: number;
  /** GroupNorm groups in the input projections (default 32; must divide hiddenDim). */
  groupNormGroups?: number;
  /** Contrastive denoising training (default true). */
  denoising?: boolean;
  /** Denoising query budget (the reference's dn_number, default 100): groups = floor(dnNumber / the batch's largest box count), 2 x that count queries each. */
  dnNumber?: number;
  /** Label noise ratio (default 0.5): a denoising label is redrawn with probability dnLabelNoise / 2. */
  dnLabelNoise?: number;
  /** Box noise scale (default 0.4). */
  dnBoxNoise?: number;
  /** Look-forward-twice box refinement (default true). */
  lookForwardTwice?: boolean;
  /** The uniform source of the denoising noise (default: a mulberry32 stream from `seed`); tests inject their own. */
  denoisingRandom?: UniformSource;
}

/** What DINO's `forwardTrain` exposes besides the contract's outputs. */
export interface DinoTrainOutputs extends QueryGroupTrainOutputs {
  /** The denoising queries' outputs per layer and the queries themselves (training mode with denoising on and boxes in the batch). */
  denoising?: { output: DecodeOutput; queries: DenoisingQueries };
  /** The two-stage outputs of the selected encoder tokens. */
  interm: { logits: tf.Tensor3D; boxes: tf.Tensor3D };
}

/**
 * DINO (Zhang et al., ICLR 2023) on Deformable DETR's multi-scale encoder and decoder:
 * - contrastive denoising: per batch, groups of noised copies of the ground-truth boxes and
 *   labels (positives inside the noise range, negatives further out, supervised as background)
 *   are decoded beside the matching queries (`label_enc` gives their content); the attention
 *   layout is the reference's: the matching queries see only themselves, denoising group g sees
 *   itself and the matching queries;
 * - mixed query selection: the matching queries' anchors are the top-Q encoder proposals of
 *   the image (detached), their content is learned (`transformer.tgt_embed`); the two-stage
 *   head has its own interm loss;
 * - look-forward-twice box refinement;
 * with a class and box head per decoder layer (`class_embed.l`, `bbox_embed.l`; the reference
 * can share them, by default does; unshared as this package's Deformable DETR) and sigmoid
 * focal classification. Implements the query-group contract: plugin groups are isolated
 * blocks of the same decoder pass, never seen by and never seeing the denoising or matching
 * queries; the detection queries are per image, so `detectionQueries` needs the `Encoded`.
 */
export class Dino extends MultiScaleSetPredictor<DinoTransformer> implements QueryGroupDetector {
  readonly labelEnc: Embedding;
  readonly denoising: { on: boolean; budget: number; labelNoise: number; boxNoise: number };
  lookForwardTwice: boolean;
  private readonly random: UniformSource;

  constructor(opts: DinoOptions) {
    const o = checkDinoOptions(opts);
    super('dino', opts, o, 2048, (t) => new DinoTransformer({ ...t, numQueries: o.numQueries, numClasses: opts.numClasses }));
    this.lookForwardTwice = o.lookForwardTwice;
    this.denoising = { on: o.denoising, budget: o.dnNumber, labelNoise: o.dnLabelNoise, boxNoise: o.dnBoxNoise };
    this.random = opts.denoisingRandom ?? mulberry32((opts.seed ?? 0) ^ 0x2545f491);
    // The reference's label book: one row per class, plus one it never uses.
    this.labelEnc = this.module('label_enc', new Embedding(this.numClasses + 1, this.hiddenDim, { seed: subSeed(opts.seed, 7) }));
  }

  /** The top-Q encoder proposals of every image (mixed query selection) and the two-stage outputs. */
  select(encoded: Encoded): QuerySelection {
    const enc = this.ownEncoded(encoded);
    return selectQueries(this.transformer.head, enc.memory, enc.shapes, enc.validRatios, enc.mask, this.numQueries);
  }

  /** Per image: `[B,Q,4]` anchors (the selected proposals, detached) and the learned content `[Q,d]` (`tgt_embed`, live variable). */
  detectionQueries(encoded?: Encoded): QueryGroup {
    if (!encoded) throw new DetkitError('INVALID_ARGUMENT', "dino: the detection queries are selected per image from the encoder output: pass detectionQueries(encoded) the model's own encode() result");
    const { anchors, logits, boxes } = this.select(encoded);
    tf.dispose([logits, boxes]);
    return { anchors, content: this.transformer.tgtEmbed.weight };
  }

  /** The learned content `[Q,d]` (`tgt_embed`), the same for every image: no selection needed. */
  detectionContent(): tf.Tensor2D {
    return this.transformer.tgtEmbed.weight as tf.Tensor2D;
  }

  decode(encoded: Encoded, groups: readonly QueryGroup[], options: DecodeOptions = {}): DecodeResult {
    const withDetection = options.detection ?? true;
    return tidyAny(() => this.decodeWith(encoded, groups, options, withDetection ? this.detectionQueries(encoded) : undefined));
  }

  /** One decoder pass over [denoising groups, matching queries, plugin groups] (see decodeQueryBlocks). */
  private decodeWith(encoded: Encoded, groups: readonly QueryGroup[], options: DecodeOptions, detection?: QueryGroup, own?: OwnQueries): DecodeResult & { own?: DecodeOutput } {
    const enc = this.ownEncoded(encoded);
    const B = enc.memory.shape[0];
    return decodeQueryBlocks(this, 'dino', B, groups, options, (queries) => {
      const { tgt, anchors, memory } = this.decoderInputs(enc, queries);
      const { hs, boxes } = this.transformer.decoder.forward(tgt, anchors, memory, this.bboxEmbed, { lookForwardTwice: this.lookForwardTwice, finalLayerOnly: options.finalLayerOnly });
      const keep = this.numDecoderLayers - hs.length;
      return { logits: hs.map((h, k) => this.classEmbed[keep + k]!.forward(h) as tf.Tensor3D), boxes };
    }, { detection, own });
  }

  /** This batch's denoising queries (host) as the decoder's own extra queries: anchors and `label_enc` content, `[B,pad,...]`. */
  private denoisingInput(dn: DenoisingQueries, b: number): OwnQueries {
    const rows = b * dn.padSize;
    const k = this.numClasses + 1;
    const onehot = new Float32Array(rows * k);
    dn.labels.forEach((label, i) => label >= 0 && (onehot[i * k + label] = 1));
    return tf.tidy(() => ({
      anchors: tf.tensor3d(dn.anchors, [b, dn.padSize, 4]),
      // Padding rows select nothing: zero content, as the reference's padding.
      content: tf.reshape(tf.matMul(tf.tensor2d(onehot, [rows, k]), this.labelEnc.weight), [b, dn.padSize, this.hiddenDim]),
      layout: dn.layout,
    }) as unknown as tf.TensorContainer) as unknown as OwnQueries;
  }

  override *forwardTrainSteps(batch: Batch, options: ForwardTrainOptions = {}): ForwardSteps<{ losses: LossTerms; outputs: DinoTrainOutputs }> {
    const encoded = this.encode(batch.images, batch.masks);
    const B = encoded.memory.shape[0];
    let selection: QuerySelection;
    try {
      selection = this.select(encoded);
    } catch (e) {
      tf.dispose([encoded.memory, encoded.mask, encoded.pos, encoded.validRatios]);
      throw e;
    }
    const denoisingOn = this.training && this.denoising.on;
    const dn = denoisingOn
      ? makeDenoisingQueries(batch.targets, this.numQueries, { budget: this.denoising.budget, labelNoise: this.denoising.labelNoise, boxNoise: this.denoising.boxNoise, numClasses: this.numClasses }, this.random)
      : undefined;
    const own = dn ? this.denoisingInput(dn, B) : undefined;
    const detection: QueryGroup = { anchors: selection.anchors, content: this.transformer.tgtEmbed.weight };
    let result: DecodeResult & { own?: DecodeOutput };
    try {
      result = this.decodeWith(encoded, options.groups ?? [], {}, detection, own);
    } finally {
      if (own) tf.dispose([own.anchors, own.content]);
      selection.anchors.dispose();
    }
    const denoising = dn && result.own ? { output: result.own, queries: dn } : undefined;
    const interm = { logits: selection.logits, boxes: selection.boxes };
    const numBoxes = lossNormalizer(batch, batch.targets.reduce((s, t) => s + t.labels.length, 0), 'boxes');
    const losses = yield* dinoLossSteps(this.criterion, { detection: result.detection, interm, denoising, denoisingOn }, batch.targets, numBoxes);
    return {
      losses,
      outputs: { encoded, memory: encoded.memory, masks: encoded.mask, pos: encoded.pos, detection: result.detection, groups: result.groups, denoising, interm },
    };
  }
}
