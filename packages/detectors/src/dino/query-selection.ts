import * as tf from '@tensorflow/tfjs-core';
import { DetkitError, stopGradient, type LayerNorm, type Linear, type MLP } from '@detkit/core';
import type { SpatialShapes } from '../deformable-detr/ms-deform-attn.js';

/** DINO's two-stage head on the encoder output (reference names, under `transformer.`). */
export interface EncoderOutputHead {
  /** `enc_output`: Linear(d, d). */
  encOutput: Linear;
  /** `enc_output_norm`: LayerNorm(d). */
  encOutputNorm: LayerNorm;
  /** `enc_out_class_embed`: Linear(d, C). */
  classEmbed: Linear;
  /** `enc_out_bbox_embed`: MLP(d, d, 4, 3), a delta on the token's proposal in inverse-sigmoid space. */
  bboxEmbed: MLP;
}

/** The encoder's top-K proposals: the decoder's anchors and the two-stage ("interm") outputs. */
export interface QuerySelection {
  /** `[B,K,4]` pre-sigmoid anchors of the matching queries, detached (no gradient reaches the encoder through them). */
  anchors: tf.Tensor3D;
  /** `[B,K,C]` class logits of the selected tokens (`enc_out_class_embed`), supervised by the interm loss. */
  logits: tf.Tensor3D;
  /** `[B,K,4]` sigmoid boxes of the selected tokens, with gradient (interm loss). */
  boxes: tf.Tensor3D;
}

/**
 * The reference's `gen_encoder_output_proposals`: for each memory token a box centred on its
 * cell, `((x + 0.5) / valid_w, (y + 0.5) / valid_h)` in its level's valid extent, of side
 * 0.05 * 2^level; `[B,S,4]` pre-sigmoid, and `[B,S]` 1 where the token is real and its box lies
 * inside (0.01, 0.99). The reference marks the other tokens' proposals +inf (and their memory
 * 0); here their proposals are 0 and their scores are pushed below every valid token's, so
 * they are selected only when fewer than K tokens are valid.
 */
export function encoderProposals(shapes: SpatialShapes, validRatios: tf.Tensor3D, keepMask: tf.Tensor2D): { proposals: tf.Tensor3D; valid: tf.Tensor2D } {
  return tf.tidy(() => {
    const B = validRatios.shape[0];
    const perLevel = shapes.map(([h, w], l) => {
      const xy = new Float32Array(h * w * 2);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) xy.set([x + 0.5, y + 0.5], (y * w + x) * 2);
      const scale = tf.mul(tf.slice(validRatios, [0, l, 0], [B, 1, 2]), tf.tensor3d([w, h], [1, 1, 2]));
      const centre = tf.div(tf.tensor3d(xy, [1, h * w, 2]), scale);
      return tf.concat([centre, tf.fill([B, h * w, 2], 0.05 * 2 ** l)], -1);
    });
    const p = tf.concat(perLevel, 1);
    const inside = tf.cast(tf.logicalAnd(tf.greater(p, 0.01), tf.less(p, 0.99)), 'float32');
    const valid = tf.mul(tf.min(inside, -1), keepMask) as tf.Tensor2D;
    const c = tf.clipByValue(p, 1e-4, 1 - 1e-4);
    const proposals = tf.mul(tf.log(tf.div(c, tf.sub(1, c))), tf.expandDims(valid, -1)) as tf.Tensor3D;
    return { proposals, valid };
  }) as unknown as { proposals: tf.Tensor3D; valid: tf.Tensor2D };
}

/**
 * DINO's mixed query selection (two-stage "standard"): the memory of valid tokens through
 * `enc_output` + `enc_output_norm`, scored by `enc_out_class_embed` (max over classes); the
 * top-K tokens per image become the matching queries' anchors: `enc_out_bbox_embed(token) +
 * proposal`, detached. The content queries stay learned (`tgt_embed`, not here). The selected
 * tokens' logits and (undetached) boxes are the two-stage outputs the interm loss supervises.
 * Rows are gathered by one-hot matmul (`tf.gather`'s gradient is missing on wasm), and the
 * top-K indices are taken on a gradient-free copy of the scores (TopK has no gradient).
 */
export function selectQueries(head: EncoderOutputHead, memory: tf.Tensor3D, shapes: SpatialShapes, validRatios: tf.Tensor3D, keepMask: tf.Tensor2D, k: number): QuerySelection {
  const [B, S] = memory.shape;
  if (k > S) throw new DetkitError('CONFIG_INVALID', `dino: numQueries ${k} exceeds the ${S} encoder tokens it selects from; ask for fewer queries`, { key: 'numQueries' });
  return tf.tidy(() => {
    const { proposals, valid } = encoderProposals(shapes, validRatios, keepMask);
    const tokens = head.encOutputNorm.forward(head.encOutput.forward(tf.mul(memory, tf.expandDims(valid, -1)))) as tf.Tensor3D;
    const scores = tf.sub(tf.max(head.classEmbed.forward(tokens), -1), tf.mul(tf.sub(1, valid), 1e9));
    const { indices } = tf.topk(stopGradient(scores), k, true);
    const pick = tf.reshape(tf.cast(tf.oneHot(tf.reshape(indices, [B * k]), S), 'float32'), [B, k, S]) as tf.Tensor3D;
    const selected = tf.matMul(pick, tokens);
    const unsig = tf.add(head.bboxEmbed.forward(selected), tf.matMul(pick, proposals));
    return {
      anchors: stopGradient(unsig) as tf.Tensor3D,
      logits: head.classEmbed.forward(selected) as tf.Tensor3D,
      boxes: tf.sigmoid(unsig) as tf.Tensor3D,
    } as unknown as tf.TensorContainer;
  }) as unknown as QuerySelection;
}
