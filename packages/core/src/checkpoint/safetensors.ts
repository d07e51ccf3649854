// Safetensors files on disk: the codec (safetensors-codec.ts) plus atomic writes and reads.
import type * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import { DetkitError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsContent } from './safetensors-codec.js';

export * from './safetensors-codec.js';

// ---------------------------------------------------------------------------------- files

/**
 * Writes a safetensors file atomically: temp file in the same directory, fsync, rename. On any
 * failure the temp file is removed and the previous file at `file` (if any) is untouched.
 */
export async function writeSafetensors(file: string, tensors: Map<string, tf.Tensor>, metadata?: Record<string, string>): Promise<void> {
  const bytes = await encodeSafetensors(tensors, metadata);
  await writeFileAtomic(file, bytes);
}

/** Reads and validates a safetensors file (see decodeSafetensors). The caller owns the tensors. */
export async function readSafetensors(file: string): Promise<SafetensorsContent> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (e) {
    throw new DetkitError('IO', `Cannot read safetensors file ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  return decodeSafetensors(buf, file);
}

