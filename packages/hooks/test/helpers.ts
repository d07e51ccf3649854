/** Tiny fixtures for the hooks tests: a one-layer dense regressor and a seeded batch source. */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { EMPTY } from 'rxjs';
import { Module, createRng, type Batch, type BatchSource, type Detection, type ForwardResult, type Logger, type RunnerOptions, type Services, type TrainableModel } from '@detkit/core';

export class DenseNet extends Module implements TrainableModel {
  readonly classNames = ['x'];
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  constructor() {
    super();
    this.w = this.param('w', tf.tensor2d([[0.1], [-0.2], [0.3], [0.05]]));
    this.b = this.param('b', tf.zeros([1]));
  }

  private out(images: tf.Tensor4D): tf.Tensor1D {
    return tf.reshape(tf.add(tf.matMul(tf.reshape(images, [-1, 4]), this.w as tf.Tensor2D), this.b), [-1]);
  }

  forwardTrain(batch: Batch): ForwardResult {
    const y = tf.tensor1d(batch.targets.map((t) => t.boxes[0]!));
    return { losses: { mse: tf.mean(tf.square(tf.sub(this.out(batch.images), y))) as tf.Scalar } };
  }

  async predict(batch: Batch): Promise<Detection[][]> {
    const p = tf.tidy(() => this.out(batch.images));
    const v = await p.data();
    p.dispose();
    return batch.targets.map((t, i) => [{ imageId: t.imageId, box: [0, 0, 1, 1], label: 0, score: v[i]! }]);
  }
}

/** 2x2x1 images; target = 1*x0 - 2*x1 + 0.5*x2 + 3*x3 + 1. */
export class DenseSource implements BatchSource {
  constructor(readonly length = 3, private readonly seed = 1) {}
  async *batches(epoch: number): AsyncIterable<Batch> {
    const rng = createRng(this.seed).fork(`e${epoch}`);
    for (let b = 0; b < this.length; b++) {
      const x = Array.from({ length: 8 }, () => rng.next());
      const ys = [0, 1].map((i) => x[i * 4]! - 2 * x[i * 4 + 1]! + 0.5 * x[i * 4 + 2]! + 3 * x[i * 4 + 3]! + 1);
      yield {
        images: tf.tensor4d(x, [2, 2, 2, 1]),
        masks: tf.ones([2, 2, 2]) as tf.Tensor3D,
        targets: ys.map((y, i) => ({ boxes: new Float32Array([y, 0, 0, 0]), labels: new Int32Array([0]), imageId: b * 2 + i, height: 2, width: 2, origHeight: 2, origWidth: 2 })),
      };
    }
  }
}

export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: () => {}, info: (m) => void lines.push(m), warn: (m) => void lines.push(`WARN ${m}`), error: (m) => void lines.push(`ERROR ${m}`) };
}

export function services(logger: Logger = recordingLogger()): Services {
  return { logger, rng: createRng(3), backend: 'cpu', events$: EMPTY };
}

export function baseOptions(workDir: string, over: Partial<RunnerOptions> = {}): RunnerOptions {
  return {
    model: new DenseNet(),
    train: new DenseSource(),
    hooks: [],
    optimizer: { type: 'sgd', lr: 0.1 },
    maxIters: 6,
    workDir,
    services: services(),
    handleSignals: false,
    ...over,
  };
}

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
}
