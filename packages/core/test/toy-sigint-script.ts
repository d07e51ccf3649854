/**
 * Child process for the SIGINT test: trains the toy model "forever" on the cpu backend,
 * prints READY after the first iteration, and prints the train() result as JSON on exit.
 * Usage: node --import tsx --conditions=source test/toy-sigint-script.ts <workDir>
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Runner } from '../src/runner/runner.js';
import { ToyConvNet, ToySource, toyServices } from './toy-model.js';

await tf.setBackend('cpu');
const model = new ToyConvNet(3);
const runner = new Runner({
  model,
  train: new ToySource(4, 2, 1),
  hooks: [{ name: 'ready', afterIter: (s) => void (s.iter === 1 && console.log('READY')) }],
  optimizer: { type: 'sgd', lr: 0.01 },
  maxIters: 1_000_000,
  workDir: process.argv[2]!,
  services: toyServices(),
});
const result = await runner.train();
console.log(JSON.stringify({ ...result, listeners: process.listenerCount('SIGINT') }));
runner.dispose();
model.dispose();
