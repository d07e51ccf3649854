// Safetensors files on disk: the codec (safetensors-codec.ts) plus atomic writes and reads.
import type * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import { DetkitError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { decodeSafetensors, decodeSafetensorsHeaderLength, decodeSafetensorsMetadata, encodeSafetensors, type SafetensorsContent } from './safetensors-codec.js';

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


/** A safetensors file's `__metadata__`, reading only its header (not the tensors). */
export async function readSafetensorsMetadata(file: string): Promise<Record<string, string>> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const { size } = await handle.stat();
    const prefix = await readAt(handle, 0, Math.min(8, size));
    const headerLen = decodeSafetensorsHeaderLength(prefix, size, file);
    return decodeSafetensorsMetadata(await readAt(handle, 8, headerLen), file);
  } catch (e) {
    if (e instanceof DetkitError) throw e;
    throw new DetkitError('IO', `Cannot read safetensors file ${file}: ${(e as Error).message}`, { file }, { cause: e });
  } finally {
    await handle?.close();
  }
}

/** `length` bytes from `position` (a read may return fewer than asked: loop until done). */
async function readAt(handle: fs.FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  for (let done = 0; done < length; ) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return out;
}
