import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, Module } from '@detkit/core';
import { subSeed } from '../transformer/encoder.js';

/**
 * torchvision's `RPNHead`, shared by every level: 3x3 conv + ReLU, then 1x1 convs to A
 * objectness logits and 4A box deltas per cell. Convs initialised N(0, 0.01), bias 0, as the
 * reference does.
 */
export class RpnHead extends Module {
  private readonly conv: Conv2d;
  private readonly cls: Conv2d;
  private readonly bbox: Conv2d;

  constructor(
    channels: number,
    readonly anchorsPerCell: number,
    seed?: number,
  ) {
    super();
    this.conv = this.module('conv', new Conv2d(channels, channels, 3, { padding: 1, seed: subSeed(seed, 1) }));
    this.cls = this.module('cls_logits', new Conv2d(channels, anchorsPerCell, 1, { seed: subSeed(seed, 2) }));
    this.bbox = this.module('bbox_pred', new Conv2d(channels, 4 * anchorsPerCell, 1, { seed: subSeed(seed, 3) }));
    tf.tidy(() => {
      [this.conv, this.cls, this.bbox].forEach((c, i) => {
        c.weight.assign(tf.randomNormal(c.weight.shape, 0, 0.01, 'float32', seed === undefined ? undefined : seed + 31 * (i + 1)));
        c.bias!.assign(tf.zerosLike(c.bias!));
      });
    });
  }

  /**
   * Levels -> objectness `[B, sum_l h_l w_l A]` and deltas `[B, sum_l h_l w_l A, 4]`, cells
   * row-major then anchors: the order of `levelAnchors`.
   */
  forward(levels: readonly tf.Tensor4D[]): { objectness: tf.Tensor2D; deltas: tf.Tensor3D } {
    return tf.tidy(() => {
      const a = this.anchorsPerCell;
      const obj: tf.Tensor[] = [];
      const del: tf.Tensor[] = [];
      for (const x of levels) {
        const [b, h, w] = x.shape;
        const t = tf.relu(this.conv.forward(x)) as tf.Tensor4D;
        obj.push(tf.reshape(this.cls.forward(t), [b, h * w * a]));
        del.push(tf.reshape(this.bbox.forward(t), [b, h * w * a, 4]));
      }
      const cat = (ts: tf.Tensor[]) => (ts.length === 1 ? ts[0]! : tf.concat(ts, 1));
      return { objectness: cat(obj) as tf.Tensor2D, deltas: cat(del) as tf.Tensor3D };
    });
  }
}
