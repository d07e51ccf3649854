import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module } from '@detkit/core';
import { subSeed } from '../transformer/encoder.js';

/**
 * torchvision's `TwoMLPHead` + `FastRCNNPredictor`: pooled RoI features `[R,P,P,C]` ->
 * flatten -> fc6 -> ReLU -> fc7 -> ReLU -> class logits `[R, C+1]` and class-specific deltas
 * `[R, C, 4]`. Background is the LAST logit (index C, Detectron2's convention), so the
 * foreground logits are a prefix in the shared class order. Boxes are regressed for the C
 * foreground classes only (torchvision also has an unused background slot).
 */
export class BoxHead extends Module {
  private readonly fc6: Linear;
  private readonly fc7: Linear;
  private readonly clsScore: Linear;
  private readonly bboxPred: Linear;

  constructor(
    inFeatures: number,
    representation: number,
    readonly numClasses: number,
    seed?: number,
  ) {
    super();
    this.fc6 = this.module('fc6', new Linear(inFeatures, representation, { seed: subSeed(seed, 1) }));
    this.fc7 = this.module('fc7', new Linear(representation, representation, { seed: subSeed(seed, 2) }));
    this.clsScore = this.module('cls_score', new Linear(representation, numClasses + 1, { seed: subSeed(seed, 3) }));
    this.bboxPred = this.module('bbox_pred', new Linear(representation, 4 * numClasses, { seed: subSeed(seed, 4) }));
    // Detectron2's predictor init: N(0, 0.01) logits, N(0, 0.001) deltas, zero biases.
    tf.tidy(() => {
      this.clsScore.weight.assign(tf.randomNormal(this.clsScore.weight.shape, 0, 0.01, 'float32', subSeed(seed, 5)));
      this.bboxPred.weight.assign(tf.randomNormal(this.bboxPred.weight.shape, 0, 0.001, 'float32', subSeed(seed, 6)));
      this.clsScore.bias!.assign(tf.zerosLike(this.clsScore.bias!));
      this.bboxPred.bias!.assign(tf.zerosLike(this.bboxPred.bias!));
    });
  }

  forward(pooled: tf.Tensor4D): { logits: tf.Tensor2D; deltas: tf.Tensor3D } {
    return tf.tidy(() => {
      const r = pooled.shape[0];
      const x = tf.relu(this.fc7.forward(tf.relu(this.fc6.forward(tf.reshape(pooled, [r, -1])))));
      return { logits: this.clsScore.forward(x) as tf.Tensor2D, deltas: tf.reshape(this.bboxPred.forward(x), [r, this.numClasses, 4]) as tf.Tensor3D };
    });
  }
}
