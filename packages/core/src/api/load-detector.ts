import * as tf from '@tensorflow/tfjs-core';
import type { DetkitConfig } from '../config/schema.js';
import type { Dataset, Sample } from '../data/types.js';
import { DetkitError } from '../errors.js';
import type { Logger } from '../registry/types.js';
import type { TrainableModel } from '../runner/model.js';
import { requireExport } from '../cli/optional.js';
import { openSession } from '../cli/session.js';
import { silentLogger } from '../util/logger.js';
import { predictDataset } from './predict-dataset.js';
import { trainedModel } from './trained-model.js';

/** An image: a PNG/JPEG file path or its bytes, or an HWC tensor (float in [0, 1], or int in [0, 255]; 1 or 3 channels). */
export type ImageInput = string | Uint8Array | tf.Tensor3D;

/** One detection in the input image's pixels. */
export interface Prediction {
  /** [x1, y1, x2, y2] in pixels of the image as given. */
  box: [number, number, number, number];
  label: number;
  className: string;
  score: number;
}

export interface PredictOptions {
  /** Keep detections scoring at least this (default 0: all the model's top-k). */
  scoreThreshold?: number;
}

export interface LoadedDetector {
  readonly model: TrainableModel;
  readonly classNames: readonly string[];
  readonly config: DetkitConfig;
  /** Detections per image, in the order given, best score first. */
  predict(images: ImageInput | readonly ImageInput[], options?: PredictOptions): Promise<Prediction[][]>;
  /** Frees the model's weights. */
  dispose(): void;
}

export interface LoadDetectorOptions {
  /** `key.path=value` strings, as `--set` takes them (e.g. `backend=wasm`). */
  overrides?: readonly string[];
  /** Where messages go (default: nowhere). */
  logger?: Logger;
}

/**
 * A trained detector, ready to predict, in one call: builds the config's model by registry name
 * (plugins included), loads the weights strictly (a weights file or a training checkpoint) and
 * preprocesses images exactly as the config's validation data.
 *
 *   const detector = await loadDetector('configs/dab-detr/mnist-teacher.ts', 'checkpoints/dab-detr-mnist-teacher.safetensors');
 *   const [dets] = await detector.predict('digits.png', { scoreThreshold: 0.3 });
 */
export async function loadDetector(configOrPath: string | Record<string, unknown>, checkpoint: string | undefined, options: LoadDetectorOptions = {}): Promise<LoadedDetector> {
  const logger = options.logger ?? silentLogger;
  const session = await openSession(configOrPath, {}, { overrides: options.overrides, logger });
  const { config } = session.loaded;
  const model = await trainedModel(session, checkpoint, 'loadDetector: no checkpoint: predicting with freshly initialised weights');
  const classNames = model.classNames ?? [];
  return {
    model,
    classNames,
    config,
    async predict(images, predictOptions = {}) {
      const list = Array.isArray(images) ? (images as readonly ImageInput[]) : [images as ImageInput];
      const threshold = predictOptions.scoreThreshold ?? 0;
      const dataset = await inMemoryDataset(list, classNames);
      const byImage = await predictDataset(model, dataset, { registry: session.registry, config });
      return list.map((_, i) =>
        (byImage.get(i + 1) ?? [])
          .filter((d) => d.score >= threshold)
          .sort((a, b) => b.score - a.score)
          .map((d) => ({ box: d.box, label: d.label, className: classNames[d.label] ?? String(d.label), score: d.score })),
      );
    },
    dispose() {
      model.dispose();
    },
  };
}

type DecodeImage = (input: string | Buffer, what?: string) => Promise<{ image: Float32Array; height: number; width: number; channels: 3 }>;

/** The inputs as a Dataset (image ids 1..N), decoded now so a bad input fails before any work. */
async function inMemoryDataset(inputs: readonly ImageInput[], classNames: readonly string[]): Promise<Dataset> {
  const samples: Sample[] = [];
  let decode: DecodeImage | undefined;
  for (const [i, input] of inputs.entries()) {
    const what = typeof input === 'string' ? input : `image ${i}`;
    let pixels: { image: Float32Array; height: number; width: number };
    if (input instanceof tf.Tensor) pixels = await tensorPixels(input, what);
    else if (typeof input === 'string' || input instanceof Uint8Array) {
      decode ??= await requireExport<DecodeImage>('@detkit/datasets', 'decodeImage', 'Decoding images (@detkit/datasets)');
      pixels = await decode(typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength), what);
    } else throw new DetkitError('INVALID_ARGUMENT', `predict: ${what} must be a file path, the file's bytes or an HWC tensor, got ${typeof input}`);
    samples.push({ ...pixels, channels: 3, boxes: new Float32Array(0), labels: new Int32Array(0), imageId: i + 1 });
  }
  return { length: samples.length, classNames, get: (i) => samples[i]! };
}

/** An HWC tensor as float RGB in [0, 1]: int dtypes are 0..255, one channel is grey. */
async function tensorPixels(t: tf.Tensor, what: string): Promise<{ image: Float32Array; height: number; width: number }> {
  if (t.rank !== 3 || (t.shape[2] !== 1 && t.shape[2] !== 3)) {
    throw new DetkitError('INVALID_ARGUMENT', `predict: ${what} must be an HWC tensor with 1 or 3 channels, got shape [${t.shape.join(', ')}]`);
  }
  const [height, width, channels] = t.shape as [number, number, number];
  const raw = await t.data();
  const scale = t.dtype === 'float32' ? 1 : 1 / 255;
  const image = new Float32Array(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    for (let c = 0; c < 3; c++) image[3 * p + c] = Number(raw[channels === 3 ? 3 * p + c : p]) * scale;
  }
  return { image, height, width };
}
