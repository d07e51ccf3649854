// Times training iterations (forward + criterion + backward + optimizer step) of the model in a
// config on real batches of its training dataset, one line per iteration (ms, loss, live
// tensors). For the teacher/student table use `npm run bench -- detectors`; for where the time
// goes, bench/profile-step.ts. Usage, from the repo root:
//   node --import tsx --conditions=source bench/time-iteration.ts [config] [iters] [batch]
import * as tf from '@tensorflow/tfjs-core';
import { disposeBatches, makeTrainStep, median, setupDetector, trainBatches } from './detector-setup.js';

const [cfgPath = 'configs/dab-detr/mnist-student.ts', itersArg = '6', batchArg = '8'] = process.argv.slice(2);
const setup = await setupDetector(cfgPath);
const B = Number(batchArg);
const batches = await trainBatches(setup, { count: 2, batchSize: B });
const trainer = makeTrainStep(setup);
setup.model.train();
const times: number[] = [];
for (let i = 0; i < Number(itersArg); i++) {
  const t0 = performance.now();
  const loss = trainer.step(batches[i % batches.length]!);
  times.push(performance.now() - t0);
  console.log(`iter ${i}: ${times[i]!.toFixed(0)} ms, loss ${loss.toFixed(3)}, tensors ${tf.memory().numTensors}`);
}
const [S] = batches[0]!.images.shape.slice(1);
console.log(`${cfgPath} on ${setup.backend.name} (${setup.backend.reason}), batch ${B}x${S}x${S}: median ${median(times.slice(1)).toFixed(0)} ms/iter; params ${setup.model.numParameters()}`);
trainer.dispose();
disposeBatches(batches);
