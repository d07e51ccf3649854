// Child-process entry of the demo and the experiments: trains one config file and reports over
// IPC. Usage (forked): train-child <config file> <run name> [workers] [checkpoint every]
// (see TrainRunOptions; '-' for a default). Console output goes to the
// parent's pipe (saved as the run's train.log), so the parent's progress display stays clean.
import { trainConfigFile, type ProgressMessage } from './run-training.js';

const [file, name, workers, checkpointEvery] = process.argv.slice(2);
const given = (v: string | undefined) => (v === undefined || v === '-' ? undefined : Number(v));
const send = (m: ProgressMessage) => process.send?.(m);
try {
  if (!file || !name) throw new Error('usage: train-child <config file> <run name> [workers] [checkpoint every]');
  const result = await trainConfigFile(file, name, send, undefined, { workers: given(workers), checkpointEvery: given(checkpointEvery) });
  send({ type: 'done', name, result });
  process.exitCode = 0;
} catch (e) {
  send({ type: 'error', name: name ?? '?', message: e instanceof Error ? `${(e as { code?: string }).code ? `[${(e as { code?: string }).code}] ` : ''}${e.message}` : String(e) });
  process.exitCode = 1;
}
// Let the IPC channel flush, then leave (tfjs keeps no handles that should hold us).
process.disconnect?.();
