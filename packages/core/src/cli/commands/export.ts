import { resolve } from 'node:path';
import { exportWeights } from '../../checkpoint/checkpoint.js';
import { EXIT } from '../exit-codes.js';

/** `detkit export CHECKPOINT --out FILE`: the model weights alone (no optimizer state). */
export async function exportCommand(checkpoint: string, opts: { out: string }): Promise<number> {
  const out = resolve(opts.out);
  const { tensors, iter } = await exportWeights(resolve(checkpoint), out);
  process.stdout.write(`wrote ${tensors} tensors${iter === undefined ? '' : ` (iteration ${iter})`} to ${out}\n`);
  return EXIT.ok;
}
