import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readCheckpointMeta } from '@detkit/core';

/**
 * The checkpoint a run in `dir` continues from: `latest.safetensors` (written on Ctrl-C / SIGTERM)
 * or the highest `iter_N.safetensors`, whichever holds the later iteration (read from the
 * headers, not the file times, which a copy changes).
 */
export async function newestCheckpoint(dir: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const periodic = names.filter((n) => /^iter_\d+\.safetensors$/.test(n)).sort();
  const candidates = [...(names.includes('latest.safetensors') ? ['latest.safetensors'] : []), ...periodic.slice(-1)].map((n) => join(dir, n));
  if (candidates.length < 2) return candidates[0];
  const [latest, periodicIter] = await Promise.all(candidates.map(async (c) => (await readCheckpointMeta(c)).iter));
  return latest! >= periodicIter! ? candidates[0] : candidates[1];
}
