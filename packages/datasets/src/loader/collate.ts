import * as tf from '@tensorflow/tfjs-core';
import { DetkitError } from '../core.js';
import type { Batch, BatchTarget, Sample } from '../core.js';

/** A batch still on the CPU: tensors are made only when the consumer takes it (no leaks while queued). */
export interface PreparedBatch {
  images: Float32Array;
  masks: Float32Array;
  shape: [number, number, number, number];
  targets: BatchTarget[];
}

/** Training targets: crowd boxes left out, boxes as cxcywh normalised by the sample's own size. */
export function toTarget(sample: Sample, origHeight: number, origWidth: number): BatchTarget {
  const { width: w, height: h } = sample;
  const keep: number[] = [];
  for (let i = 0; i < sample.labels.length; i++) if (!sample.iscrowd || sample.iscrowd[i] === 0) keep.push(i);
  const boxes = new Float32Array(keep.length * 4);
  keep.forEach((i, k) => {
    const [x0, y0, x1, y1] = [0, 1, 2, 3].map((j) => sample.boxes[4 * i + j]!) as [number, number, number, number];
    boxes[4 * k] = (x0 + x1) / 2 / w;
    boxes[4 * k + 1] = (y0 + y1) / 2 / h;
    boxes[4 * k + 2] = (x1 - x0) / w;
    boxes[4 * k + 3] = (y1 - y0) / h;
  });
  return {
    boxes,
    labels: Int32Array.from(keep, (i) => sample.labels[i]!),
    imageId: sample.imageId,
    height: h,
    width: w,
    origHeight,
    origWidth,
  };
}

/** Pads samples (top-left aligned) to the largest height and width; mask is 1 on real pixels. */
export function collate(samples: readonly Sample[], orig: readonly { height: number; width: number }[]): PreparedBatch {
  const B = samples.length;
  const C = samples[0]!.channels;
  let H = 0;
  let W = 0;
  for (const s of samples) {
    if (s.channels !== C) throw new DetkitError('DATASET_INVALID', `batch mixes ${C}- and ${s.channels}-channel images (image ${s.imageId})`, { imageId: s.imageId });
    H = Math.max(H, s.height);
    W = Math.max(W, s.width);
  }
  const images = new Float32Array(B * H * W * C);
  const masks = new Float32Array(B * H * W);
  samples.forEach((s, b) => {
    for (let y = 0; y < s.height; y++) {
      images.set(s.image.subarray(y * s.width * C, (y + 1) * s.width * C), ((b * H + y) * W) * C);
      masks.fill(1, (b * H + y) * W, (b * H + y) * W + s.width);
    }
  });
  return { images, masks, shape: [B, H, W, C], targets: samples.map((s, i) => toTarget(s, orig[i]!.height, orig[i]!.width)) };
}

export function toBatch(p: PreparedBatch): Batch {
  const [B, H, W] = p.shape;
  return { images: tf.tensor4d(p.images, p.shape), masks: tf.tensor3d(p.masks, [B, H, W]), targets: p.targets };
}
