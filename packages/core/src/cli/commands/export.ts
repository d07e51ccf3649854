import { resolve } from 'node:path';
import { selectBackend } from '../../backend/select-backend.js';
import { exportWeights } from '../../checkpoint/checkpoint.js';
import { silentLogger } from '../../util/logger.js';
import { EXIT } from '../exit-codes.js';

/** `detkit export CHECKPOINT --out FILE`: the model weights alone (no optimizer state). */
export async function exportCommand(checkpoint: string, opts: { out: string }): Promise<number> {
  // Tensors only pass through (any backend holds them exactly); the default choice avoids the
  // cpu backend's "install tfjs-node" banner.
  await selectBackend({ logger: silentLogger });
  const out = resolve(opts.out);
  const { tensors, iter } = await exportWeights(resolve(checkpoint), out);
  process.stdout.write(`wrote ${tensors} tensors${iter === undefined ? '' : ` (iteration ${iter})`} to ${out}\n`);
  return EXIT.ok;
}
