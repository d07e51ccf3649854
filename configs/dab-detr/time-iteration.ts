// Times training iterations (forward + criterion + backward + AdamW step) of the model in a
// config on random 64x64 batches. Usage, from the repo root:
//   node --import tsx --conditions=source configs/dab-detr/time-iteration.ts [config] [iters] [batch]
import * as tf from '@tensorflow/tfjs-core';
import { createOptimizer, createRegistry, createServices, selectBackend, silentLogger, type Batch, type TrainableModel } from '@detkit/core';
import { registerDetectors } from '../../packages/detectors/src/detectors.js';

const [cfgPath = './mnist-student.ts', itersArg = '6', batchArg = '8'] = process.argv.slice(2);
const cfg = (await import(new URL(cfgPath, import.meta.url).href)).default;
const backend = await selectBackend({ logger: silentLogger });
const { services } = createServices({ logger: silentLogger, seed: 1, backend: backend.name });
const reg = createRegistry(services);
registerDetectors(reg.pluginContext('@detkit/detectors'));
const model = await reg.build<TrainableModel>('detector', cfg.model);
const B = Number(batchArg);
const S = 64;
const batch: Batch = {
  images: tf.randomUniform([B, S, S, 3], 0, 1, 'float32', 1) as tf.Tensor4D,
  masks: tf.ones([B, S, S]) as tf.Tensor3D,
  targets: Array.from({ length: B }, (_, i) => ({
    boxes: Float32Array.from([0.3, 0.3, 0.2, 0.25, 0.7, 0.6, 0.3, 0.3]),
    labels: Int32Array.from([i % 10, (i + 3) % 10]),
    imageId: i, height: S, width: S, origHeight: S, origWidth: S,
  })),
};
const params = model.trainableParameters();
const byVar = new Map(params.map(([n, v]) => [v.name, n]));
const opt = createOptimizer({ type: 'adamw', lr: 1e-4, weightDecay: 1e-4 }, params);
const times: number[] = [];
for (let i = 0; i < Number(itersArg); i++) {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => tf.addN(Object.values(model.forwardTrain(batch).losses)) as tf.Scalar, params.map(([, v]) => v));
  const named = new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k)!, g]));
  opt.step(named, 1e-4);
  const loss = value.dataSync()[0];
  named.forEach((g) => g.dispose());
  value.dispose();
  times.push(performance.now() - t0);
  console.log(`iter ${i}: ${times[i]!.toFixed(0)} ms, loss ${loss?.toFixed(3)}, tensors ${tf.memory().numTensors}`);
}
const steady = times.slice(1).sort((a, b) => a - b);
console.log(`${cfgPath} on ${backend.name} (${backend.reason}), batch ${B}x${S}x${S}: median ${steady[Math.floor(steady.length / 2)]!.toFixed(0)} ms/iter; params ${model.numParameters()}`);
