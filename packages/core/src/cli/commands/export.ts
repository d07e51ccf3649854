import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { selectBackend } from '../../backend/select-backend.js';
import { exportWeights } from '../../checkpoint/checkpoint.js';
import { DetkitError } from '../../errors.js';
import { silentLogger } from '../../util/logger.js';
import { EXIT } from '../exit-codes.js';

/**
 * `detkit export CHECKPOINT --out FILE [--metrics EVAL.json]`: the model weights alone (no
 * optimizer state), with the validation metrics of `detkit eval --json` when given.
 */
export async function exportCommand(checkpoint: string, opts: { out: string; metrics?: string }): Promise<number> {
  const metrics = opts.metrics === undefined ? undefined : await readMetrics(resolve(opts.metrics));
  // Tensors only pass through (any backend holds them exactly); the default choice avoids the
  // cpu backend's "install tfjs-node" banner.
  await selectBackend({ logger: silentLogger });
  const out = resolve(opts.out);
  const { tensors, iter } = await exportWeights(resolve(checkpoint), out, { metrics });
  process.stdout.write(`wrote ${tensors} tensors${iter === undefined ? '' : ` (iteration ${iter})`} to ${out}\n`);
  return EXIT.ok;
}

/** The metrics object `detkit eval --json` writes: metric name -> number. */
async function readMetrics(file: string): Promise<Record<string, number>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new DetkitError('INVALID_ARGUMENT', `--metrics ${file}: not a readable JSON file (${e instanceof Error ? e.message : String(e)})`, { file, key: '--metrics' });
  }
  const entries = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.entries(parsed) : undefined;
  const bad = entries?.find(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
  if (entries === undefined || entries.length === 0 || bad) {
    const why = bad ? `'${bad[0]}' is ${JSON.stringify(bad[1])}, not a finite number` : 'expected an object of metric name -> number, as `detkit eval --json` writes';
    throw new DetkitError('INVALID_ARGUMENT', `--metrics ${file}: ${why}`, { file, key: '--metrics' });
  }
  return Object.fromEntries(entries) as Record<string, number>;
}
