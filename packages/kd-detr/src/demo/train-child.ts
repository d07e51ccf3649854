// Child-process entry of the demo and the experiments: trains one config file and reports over
// IPC. Usage (forked): train-child <config file> <run name> [TrainRunOptions as JSON]. Console
// output goes to the parent's pipe (saved as the run's train.log), so the parent's progress display stays clean.
import { trainConfigFile, type ProgressMessage, type TrainRunOptions } from './run-training.js';

const [file, name, options] = process.argv.slice(2);
const send = (m: ProgressMessage) => process.send?.(m);
try {
  if (!file || !name) throw new Error('usage: train-child <config file> <run name> [TrainRunOptions as JSON]');
  const result = await trainConfigFile(file, name, send, undefined, JSON.parse(options ?? '{}') as TrainRunOptions);
  send({ type: 'done', name, result });
  process.exitCode = 0;
} catch (e) {
  send({ type: 'error', name: name ?? '?', message: e instanceof Error ? `${(e as { code?: string }).code ? `[${(e as { code?: string }).code}] ` : ''}${e.message}` : String(e) });
  process.exitCode = 1;
}
// Let the IPC channel flush, then leave (tfjs keeps no handles that should hold us).
process.disconnect?.();
