import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerInit } from './protocol.js';

/**
 * Starts a worker thread on `worker.js` beside this file: the built `.js` under plain node (the
 * CLI), the `.ts` source under tsx (tests, benches), with this process's flags (e.g.
 * --conditions=source). A worker does not inherit the tsx loader registered by `--import tsx`
 * in Node 20, so the `.ts` entry goes through a one-line bootstrap that registers it first.
 */
export function spawnWorker(init: WorkerInit): Worker {
  const ext = extname(fileURLToPath(import.meta.url));
  const entry = new URL(`./worker${ext}`, import.meta.url);
  const options = { workerData: init, execArgv: process.execArgv };
  if (ext !== '.ts') return new Worker(entry, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), options);
}
