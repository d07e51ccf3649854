import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** `tempSibling`'s names: `.<target>.<pid>.<8 hex>.tmp`. */
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** True when a process with this id exists (EPERM: it exists but belongs to someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files that atomic writes (writeFileAtomic) left in `dir` when their writer
 * died mid-write (kill -9, power loss): a temp whose pid is no longer running can never be
 * renamed into place. Temps of live processes, this one included, are left alone. Returns
 * the removed paths; a missing `dir` has none.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    const file = path.join(dir, name);
    await fs.rm(file, { force: true });
    removed.push(file);
  }
  return removed;
}
