import * as tf from '@tensorflow/tfjs-core';
import type { Detection, Sample } from '../data/types.js';
import type { Rng } from '../registry/types.js';
import { assertFiniteDetections } from '../runner/evaluation.js';
import type { TrainableModel } from '../runner/model.js';
import { createRng } from '../util/rng.js';
import type { RgbImage } from './rgb-image.js';

/** A built `transform` (the datasets package's Transform): sample in, sample out. */
export interface ImageTransform {
  readonly type: string;
  apply(sample: Sample, rng: Rng): Sample;
}

/**
 * One image through a detector as the validation loader feeds it: the transforms in order (each
 * with its own forked stream, as the loader does), a batch of one with an all-ones mask, and
 * `model.predict`. Detections are xyxy in pixels of `input`. Frees every tensor it makes.
 */
export async function detectImage(model: TrainableModel, input: RgbImage, transforms: readonly ImageTransform[] = [], imageId = 0): Promise<Detection[]> {
  let sample: Sample = { ...input, boxes: new Float32Array(0), labels: new Int32Array(0), imageId };
  const rng = createRng(0);
  transforms.forEach((t, i) => {
    sample = t.apply(sample, rng.fork(`${i}:${t.type}`));
  });
  const { height: h, width: w, channels: c } = sample;
  const images = tf.tensor4d(sample.image, [1, h, w, c]);
  const masks = tf.ones([1, h, w]) as tf.Tensor3D;
  try {
    const target = { boxes: new Float32Array(0), labels: new Int32Array(0), imageId, height: h, width: w, origHeight: input.height, origWidth: input.width };
    const [detections = []] = await model.predict({ images, masks, targets: [target] });
    assertFiniteDetections(detections);
    return detections;
  } finally {
    images.dispose();
    masks.dispose();
  }
}
