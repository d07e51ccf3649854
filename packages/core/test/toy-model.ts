/**
 * Test fixtures shared by the runner/checkpoint tests: a tiny conv regressor, a synthetic
 * batch source whose batches are a pure function of (seed, epoch), and a toy evaluator.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Batch, BatchSource, Dataset, Detection } from '../src/data/types.js';
import { Module } from '../src/nn/module.js';
import type { Logger, Rng, Services } from '../src/registry/types.js';
import type { Evaluator } from '../src/runner/evaluator.js';
import type { ForwardResult, TrainableModel } from '../src/runner/model.js';
import { createRng } from '../src/util/rng.js';
import { EMPTY } from 'rxjs';

export const SIZE = 8;

/** Target of an image: its mean intensity, centred and scaled (images have random brightness). */
export function target(pixels: ArrayLike<number>, offset: number): number {
  let sum = 0;
  for (let i = 0; i < SIZE * SIZE; i++) sum += pixels[offset + i]!;
  return (sum / (SIZE * SIZE)) * 4 - 1;
}

/** Two 3x3 convs (the second with stride 2), global average pool, a linear head. */
export class ToyConvNet extends Module implements TrainableModel {
  readonly classNames = ['thing'];
  readonly conv1: tf.Variable;
  readonly conv2: tf.Variable;
  readonly head: tf.Variable;
  readonly bias: tf.Variable;
  /** When set, forwardTrain jitters its input with this Rng (tests resume of Rng state). */
  jitter?: Rng;

  constructor(seed: number) {
    super();
    this.conv1 = this.param('conv1', tf.randomNormal([3, 3, 1, 4], 0, 0.5, 'float32', seed));
    this.conv2 = this.param('conv2', tf.randomNormal([3, 3, 4, 8], 0, 0.3, 'float32', seed + 1));
    this.head = this.param('head', tf.randomNormal([8, 1], 0, 0.3, 'float32', seed + 2));
    this.bias = this.param('bias', tf.zeros([1]));
  }

  private out(images: tf.Tensor4D): tf.Tensor1D {
    const h1 = tf.relu(tf.conv2d(images, this.conv1 as tf.Tensor4D, 1, 'same'));
    const h2 = tf.relu(tf.conv2d(h1, this.conv2 as tf.Tensor4D, 2, 'same'));
    const pooled = tf.mean(h2, [1, 2]) as tf.Tensor2D;
    return tf.reshape(tf.add(tf.matMul(pooled, this.head as tf.Tensor2D), this.bias), [-1]);
  }

  forwardTrain(batch: Batch): ForwardResult {
    let images = batch.images;
    if (this.jitter) images = tf.add(images, this.jitter.next() * 0.01);
    const pred = this.out(images);
    const y = tf.tensor1d(batch.targets.map((t) => t.boxes[0]!));
    return { losses: { mse: tf.mean(tf.square(tf.sub(pred, y))) as tf.Scalar }, outputs: { pred } };
  }

  async predict(batch: Batch): Promise<Detection[][]> {
    const pred = tf.tidy(() => this.out(batch.images));
    const values = await pred.data();
    pred.dispose();
    return batch.targets.map((t, i) => [{ imageId: t.imageId, box: [0, 0, 1, 1], label: 0, score: values[i]! }]);
  }
}

/** `length` batches of `batchSize` random images per epoch; order and content depend on (seed, epoch) only. */
export class ToySource implements BatchSource {
  constructor(
    readonly length: number,
    readonly batchSize: number,
    private readonly seed: number,
  ) {}

  async *batches(epoch: number): AsyncIterable<Batch> {
    const rng = createRng(this.seed).fork(`epoch:${epoch}`);
    for (let b = 0; b < this.length; b++) {
      const n = this.batchSize * SIZE * SIZE;
      const pixels = new Float32Array(n);
      let brightness = 1;
      for (let i = 0; i < n; i++) {
        if (i % (SIZE * SIZE) === 0) brightness = rng.next();
        pixels[i] = brightness * rng.next();
      }
      yield {
        images: tf.tensor4d(pixels, [this.batchSize, SIZE, SIZE, 1]),
        masks: tf.ones([this.batchSize, SIZE, SIZE]) as tf.Tensor3D,
        targets: Array.from({ length: this.batchSize }, (_, i) => ({
          boxes: new Float32Array([target(pixels, i * SIZE * SIZE), 0, 0, 0]),
          labels: new Int32Array([0]),
          imageId: epoch * 1000 + b * this.batchSize + i,
          height: SIZE,
          width: SIZE,
          origHeight: SIZE,
          origWidth: SIZE,
        })),
      };
    }
  }
}

/** Mean score of the detections, so tests can tell which weights predicted. */
export const meanScoreEvaluator: Evaluator = {
  evaluate(dets: Detection[]) {
    return { meanScore: dets.reduce((s, d) => s + d.score, 0) / Math.max(1, dets.length), count: dets.length };
  },
};

export const emptyDataset: Dataset = { length: 0, classNames: ['thing'], get: () => { throw new Error('no samples'); } };

export const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export function toyServices(seed = 1): Services {
  return { logger: quietLogger, rng: createRng(seed), backend: tf.getBackend(), events$: EMPTY };
}

/** A logger keeping what it is told, for assertions on messages. */
export function recordingLogger(): Logger & { logs: Array<{ level: 'debug' | 'info' | 'warn' | 'error'; message: string }> } {
  const logs: Array<{ level: 'debug' | 'info' | 'warn' | 'error'; message: string }> = [];
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string) => void logs.push({ level, message });
  return { logs, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Parameters as plain arrays (for exact comparisons). */
export function paramValues(m: Module): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [n, v] of m.namedParameters()) out[n] = Array.from(v.dataSync());
  return out;
}
