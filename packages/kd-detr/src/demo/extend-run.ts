import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { tempSibling } from '@detkit/core';
import { newestCheckpoint } from './newest-checkpoint.js';

/**
 * Starts a run where an earlier, shorter run of the same config stopped (experiment:compare
 * `--extend`): copies the earlier run's newest checkpoint and its metrics.jsonl into `dir`, unless
 * `dir` already holds a checkpoint of its own (then that run resumes from it). Returns the copied
 * checkpoint, or undefined when nothing was copied. The resume that follows checks the config,
 * so an earlier run trained under other values (a KD weight, a rate) is refused, not continued.
 */
export async function startFromEarlierRun(earlierDir: string, dir: string): Promise<string | undefined> {
  if (await newestCheckpoint(dir)) return undefined;
  const from = await newestCheckpoint(earlierDir);
  if (!from) return undefined;
  await mkdir(dir, { recursive: true });
  // metrics.jsonl first: a copy cut short leaves no checkpoint, so the next attempt starts over.
  await copyAtomic(join(earlierDir, 'metrics.jsonl'), join(dir, 'metrics.jsonl')).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  const to = join(dir, basename(from));
  await copyAtomic(from, to);
  return to;
}

async function copyAtomic(from: string, to: string): Promise<void> {
  const temp = tempSibling(to);
  try {
    await copyFile(from, temp);
    await rename(temp, to);
  } finally {
    await rm(temp, { force: true });
  }
}
