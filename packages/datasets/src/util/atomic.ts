import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DetkitError } from '../core.js';

/** A sibling temp name: same directory so the final rename stays on one filesystem (atomic). */
export function tempSibling(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  return path.join(dir, `.${base}.tmp-${process.pid}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`);
}

/** Writes a file through temp + rename, so readers never see a half-written file. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempSibling(target);
  try {
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw new DetkitError('IO', `cannot write ${target}: ${(e as Error).message}`, { file: target }, { cause: e });
  }
}
