import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { DetkitError } from '../core.js';
import type { Dataset, Sample } from '../core.js';
import { decodeImage } from '../image/codec.js';

export interface ImageFilesOptions {
  /** Image files (PNG/JPEG), or folders whose PNG/JPEG files are all taken (sorted by name). */
  paths: readonly string[];
  /** Class names of the model that will look at them (an image folder has no labels of its own). */
  classNames?: readonly string[];
}

const IMAGE_EXTS = new Set(['.png', '.jpg', '.jpeg']);

/**
 * Plain images without annotations, for prediction (`detkit predict --images`, `loadDetector`).
 * An image's id is its file name's number when the name is one (`000123.png` -> 123, so results
 * match a COCO file whose images are named by id, as `detkit data make` writes them), else its
 * 1-based position.
 */
export class ImageFiles implements Dataset {
  readonly classNames: readonly string[];
  readonly files: readonly string[];
  readonly imageIds: readonly number[];

  private constructor(files: string[], classNames: readonly string[]) {
    this.files = files;
    this.classNames = classNames;
    const numeric = files.map((f) => /^\d+$/.test(basename(f, extname(f))) ? Number(basename(f, extname(f))) : undefined);
    const unique = new Set(numeric).size === files.length && numeric.every((n) => n !== undefined && Number.isSafeInteger(n));
    this.imageIds = unique ? (numeric as number[]) : files.map((_, i) => i + 1);
  }

  static async open(options: ImageFilesOptions): Promise<ImageFiles> {
    if (options.paths.length === 0) throw new DetkitError('INVALID_ARGUMENT', 'images: no image files or folders given', { key: 'paths' });
    const files: string[] = [];
    for (const p of options.paths) files.push(...(await imagesAt(resolve(p))));
    if (files.length === 0) throw new DetkitError('INVALID_ARGUMENT', `images: no PNG or JPEG files in ${options.paths.join(', ')}`, { key: 'paths' });
    return new ImageFiles(files, options.classNames ?? []);
  }

  get length(): number {
    return this.files.length;
  }

  async get(index: number): Promise<Sample> {
    const file = this.files[index];
    if (file === undefined) throw new DetkitError('INVALID_ARGUMENT', `images: index ${index} out of range [0, ${this.length})`);
    const { image, height, width, channels } = await decodeImage(file);
    return { image, height, width, channels, boxes: new Float32Array(0), labels: new Int32Array(0), imageId: this.imageIds[index]! };
  }
}

async function imagesAt(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    throw new DetkitError('IO', `images: cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
  if (!info.isDirectory()) {
    if (!IMAGE_EXTS.has(extname(path).toLowerCase())) throw new DetkitError('INVALID_ARGUMENT', `images: ${path} is not a PNG or JPEG file`, { path });
    return [path];
  }
  const names = (await readdir(path)).filter((n) => IMAGE_EXTS.has(extname(n).toLowerCase())).sort();
  return names.map((n) => join(path, n));
}
