import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, DetkitError, Linear, Module } from '@detkit/core';
import type { Batch, Detection, ForwardResult, TrainableModel } from '@detkit/core';

export interface TinyDetectorOptions {
  numClasses?: number;
  /** Input channels (3 for RGB, 1 for grey). */
  channels?: number;
  width?: number;
  classNames?: string[];
  seed?: number;
}

/**
 * The smallest useful detector: three stride-2 convolutions, global average pooling over the
 * real (unpadded) pixels, and a linear head predicting ONE box (sigmoid cxcywh, normalised)
 * and one class per image. It learns the first annotated object of each image. Enough to
 * show the TrainableModel contract end to end; not a real detector.
 */
export class TinyDetector extends Module implements TrainableModel {
  readonly classNames: readonly string[];
  private readonly convs: Conv2d[];
  private readonly head: Linear;
  private readonly numClasses: number;

  constructor(opts: TinyDetectorOptions = {}) {
    super();
    this.numClasses = opts.numClasses ?? 10;
    const c = opts.channels ?? 3;
    const w = opts.width ?? 16;
    const seed = opts.seed ?? 0;
    this.classNames = opts.classNames ?? Array.from({ length: this.numClasses }, (_, i) => String(i));
    if (this.classNames.length !== this.numClasses) {
      throw new DetkitError('INVALID_ARGUMENT', `template/tiny-detector: ${this.classNames.length} classNames for numClasses=${this.numClasses}`);
    }
    this.convs = this.moduleList('convs', [
      new Conv2d(c, w, 3, { stride: 2, padding: 'same', seed }),
      new Conv2d(w, 2 * w, 3, { stride: 2, padding: 'same', seed: seed + 2 }),
      new Conv2d(2 * w, 2 * w, 3, { stride: 2, padding: 'same', seed: seed + 4 }),
    ]);
    this.head = this.module('head', new Linear(2 * w, 4 + this.numClasses, { seed: seed + 6 }));
  }

  /** [B,H,W,C] images + [B,H,W] masks -> [B, 4 + numClasses] raw outputs. */
  private raw(images: tf.Tensor4D, masks: tf.Tensor3D): tf.Tensor2D {
    let x: tf.Tensor4D = images;
    for (const conv of this.convs) x = tf.relu(conv.forward(x));
    // Pool only over real pixels: resize the mask to the feature grid.
    const [h, w] = [x.shape[1], x.shape[2]];
    const m = tf.image.resizeNearestNeighbor(tf.expandDims(masks, -1) as tf.Tensor4D, [h, w]);
    const pooled = tf.div(tf.sum(tf.mul(x, m), [1, 2]), tf.maximum(tf.sum(m, [1, 2]), 1));
    return this.head.forward(pooled) as tf.Tensor2D;
  }

  forwardTrain(batch: Batch): ForwardResult {
    const b = batch.targets.length;
    const boxes = new Float32Array(b * 4);
    const labels = new Int32Array(b);
    const weight = new Float32Array(b);
    batch.targets.forEach((t, i) => {
      if (t.labels.length === 0) return; // an image without objects teaches nothing here
      boxes.set(t.boxes.subarray(0, 4), i * 4);
      labels[i] = t.labels[0]!;
      weight[i] = 1;
    });
    const out = this.raw(batch.images, batch.masks);
    const predBox = tf.sigmoid(tf.slice(out, [0, 0], [b, 4]));
    const logits = tf.slice(out, [0, 4], [b, this.numClasses]);
    const w = tf.tensor1d(weight);
    const n = Math.max(1, weight.reduce((a, v) => a + v, 0));
    const l1 = tf.div(tf.sum(tf.mul(tf.sum(tf.abs(tf.sub(predBox, tf.tensor2d(boxes, [b, 4]))), 1), w)), n * 4);
    const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), this.numClasses), logits, w, 0, tf.Reduction.SUM);
    return { losses: { loss_bbox: l1 as tf.Scalar, loss_ce: tf.div(ce, n) as tf.Scalar } };
  }

  async predict(batch: Batch): Promise<Detection[][]> {
    const out = tf.tidy(() => {
      const raw = this.raw(batch.images, batch.masks);
      const b = raw.shape[0];
      return tf.concat([tf.sigmoid(tf.slice(raw, [0, 0], [b, 4])), tf.softmax(tf.slice(raw, [0, 4], [b, this.numClasses]))], 1);
    });
    const v = await out.data();
    out.dispose();
    const stride = 4 + this.numClasses;
    return batch.targets.map((t, i) => {
      const row = v.subarray(i * stride, (i + 1) * stride);
      let label = 0;
      for (let k = 1; k < this.numClasses; k++) if (row[4 + k]! > row[4 + label]!) label = k;
      const [cx, cy, bw, bh] = [row[0]!, row[1]!, row[2]!, row[3]!];
      // Normalised coordinates are relative to the image, so they map straight to the original size.
      const box: [number, number, number, number] = [
        (cx - bw / 2) * t.origWidth,
        (cy - bh / 2) * t.origHeight,
        (cx + bw / 2) * t.origWidth,
        (cy + bh / 2) * t.origHeight,
      ];
      return [{ imageId: t.imageId, box, label, score: row[4 + label]! }];
    });
  }
}
