import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DetkitError } from '../errors.js';

/** A hidden temp name beside `target`: same directory, so the final rename is atomic. */
export function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes `data` to `file` so that readers see the old file or the new one, never half of
 * either: temp file in the same directory, fsync, rename; the temp is removed on failure.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = tempSibling(file);
  try {
    await fs.mkdir(dir, { recursive: true });
    const fh = await fs.open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw new DetkitError('IO', `Cannot write ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  // Best effort: persist the rename itself (not supported on every platform/filesystem).
  await fs
    .open(dir, 'r')
    .then(async (d) => {
      await d.sync().catch(() => undefined);
      await d.close();
    })
    .catch(() => undefined);
}
