import sharp from 'sharp';
import { DetkitError } from '../core.js';
import type { Dataset, Logger, Sample } from '../core.js';
import { decodeImage } from '../image/codec.js';
import { readJsonFile } from './json.js';
import type { CocoAnnotation, CocoCategory, CocoImage, CocoInstances } from './types.js';
import { resolveInside, validateCoco, type SkippedRecord } from './validate.js';

export interface CocoDatasetOptions {
  /** Path to the instances JSON. */
  annFile: string;
  /** Folder that `file_name`s are relative to. */
  imageDir: string;
  /** Skip bad records (counted, warned) instead of failing at the first one. Default false. */
  skipInvalid?: boolean;
  /** Pixels a box may exceed its image by before it counts as outside (then it is clipped). Default 1. */
  boxTolerance?: number;
  /**
   * What to check of every image file at load: 'header' (exists, JPEG/PNG, size matches the
   * JSON; true means this, the default), 'decode' (also decode the whole image: catches
   * truncated bodies, costs about one epoch of decoding), or false/'none'.
   */
  verifyImages?: boolean | VerifyImages;
  logger?: Logger;
}

export type VerifyImages = 'none' | 'header' | 'decode';

/** A COCO sample also carries the annotation areas (for COCO evaluation's area ranges). */
export interface CocoSample extends Sample {
  /** [N] the `area` field per box, or w*h where the file had none. */
  areas: Float32Array;
}

interface Entry {
  image: CocoImage;
  file: string;
  annotations: CocoAnnotation[];
}

/** Runs `fn` over items with at most `limit` in flight (image header checks hit the disk). */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class CocoDataset implements Dataset {
  readonly classNames: readonly string[];
  /** categoryIds[label] = COCO category id: for writing results back in COCO ids. */
  readonly categoryIds: number[];
  /**
   * Records left out because they were invalid (empty unless `skipInvalid`): at load, and
   * images that fail to decode when first read during training.
   */
  readonly skipped: readonly SkippedRecord[];
  private readonly entries: Entry[];
  private readonly labelOf: Map<number, number>;
  /** Indices whose image failed to decode (only with skipInvalid). */
  private readonly undecodable = new Set<number>();

  private constructor(
    readonly options: CocoDatasetOptions,
    categories: CocoCategory[],
    entries: Entry[],
    private readonly skippedList: SkippedRecord[],
  ) {
    this.classNames = categories.map((c) => c.name);
    this.categoryIds = categories.map((c) => c.id);
    this.labelOf = new Map(categories.map((c, i) => [c.id, i]));
    this.entries = entries;
    this.skipped = skippedList;
  }

  get length(): number {
    return this.entries.length;
  }

  get skippedCount(): number {
    return this.skipped.length;
  }

  /** Reads and validates the annotation file (and, by default, every image header). */
  static async load(options: CocoDatasetOptions): Promise<CocoDataset> {
    const { annFile, imageDir } = options;
    const skipInvalid = options.skipInvalid ?? false;
    const json = await readJsonFile(annFile);
    const valid = validateCoco(json, { annFile, imageDir, skipInvalid, boxTolerance: options.boxTolerance ?? 1 });
    const skipped = valid.skipped;
    const entries: (Entry | undefined)[] = valid.images.map((image) => ({
      image,
      file: resolveInside(imageDir, image.file_name) as string,
      annotations: valid.annotationsByImage.get(image.id) ?? [],
    }));

    const verify = verifyMode(options.verifyImages);
    if (verify !== 'none') {
      await mapLimit(entries, 8, async (e, i) => {
        const problem = await checkImageFile(e!.file, e!.image, verify === 'decode');
        if (!problem) return;
        const record = `images (id ${e!.image.id}, file ${e!.file})`;
        if (!skipInvalid) throw new DetkitError('DATASET_INVALID', `${annFile}: ${record}: ${problem}`, { file: annFile, record, image: e!.file });
        skipped.push({ record, reason: problem });
        entries[i] = undefined;
      });
    }

    if (skipped.length > 0) {
      options.logger?.warn(`coco ${annFile}: skipped ${skipped.length} invalid record(s); first: ${skipped[0]!.record}: ${skipped[0]!.reason}`);
    }
    return new CocoDataset(options, valid.categories, entries.filter((e): e is Entry => e !== undefined), skipped);
  }

  /** The image record (id, file_name, size) at `index`. */
  imageInfo(index: number): CocoImage {
    return this.entry(index).image;
  }

  private entry(index: number): Entry {
    const e = this.entries[index];
    if (!e) throw new DetkitError('INVALID_ARGUMENT', `coco ${this.options.annFile}: index ${index} out of range [0, ${this.length})`);
    return e;
  }

  /**
   * The sample at `index`. With `skipInvalid`, an image that fails to decode (a truncated body
   * passes the load-time header check) is skipped, counted and warned about, and the next
   * decodable image takes its place, so training goes on with the same batch shapes.
   */
  async get(index: number): Promise<CocoSample> {
    this.entry(index);
    if (!(this.options.skipInvalid ?? false)) return this.read(index);
    for (let k = 0; k < this.length; k++) {
      const i = (index + k) % this.length;
      if (this.undecodable.has(i)) continue;
      try {
        return await this.read(i);
      } catch (e) {
        if (!(e instanceof DetkitError && e.code === 'DATASET_INVALID')) throw e;
        this.markUndecodable(i, e.message);
      }
    }
    throw new DetkitError('DATASET_INVALID', `coco ${this.options.annFile}: no image can be decoded (${this.undecodable.size} of ${this.length} failed)`, { file: this.options.annFile });
  }

  private markUndecodable(index: number, reason: string): void {
    if (this.undecodable.has(index)) return;
    this.undecodable.add(index);
    const { image, file } = this.entries[index]!;
    const record = `images (id ${image.id}, file ${file})`;
    this.skippedList.push({ record, reason });
    this.options.logger?.warn(`coco ${this.options.annFile}: ${record} skipped: ${reason} (${this.undecodable.size} undecodable so far; the next image takes its place)`);
  }

  private async read(index: number): Promise<CocoSample> {
    const { image: info, file, annotations } = this.entry(index);
    const decoded = await decodeImage(file);
    if (decoded.width !== info.width || decoded.height !== info.height) {
      throw new DetkitError('DATASET_INVALID', `${this.options.annFile}: image ${info.id} (${file}) is ${decoded.width}x${decoded.height} but the JSON says ${info.width}x${info.height}`, { file });
    }
    const n = annotations.length;
    const boxes = new Float32Array(n * 4);
    const labels = new Int32Array(n);
    const iscrowd = new Uint8Array(n);
    const areas = new Float32Array(n);
    annotations.forEach((a, i) => {
      const [x, y, w, h] = a.bbox;
      // Within-tolerance overshoot is clipped so downstream code can trust boxes lie in the image.
      boxes[4 * i] = Math.max(0, x);
      boxes[4 * i + 1] = Math.max(0, y);
      boxes[4 * i + 2] = Math.min(info.width, x + w);
      boxes[4 * i + 3] = Math.min(info.height, y + h);
      labels[i] = this.labelOf.get(a.category_id)!;
      iscrowd[i] = a.iscrowd ?? 0;
      areas[i] = a.area ?? w * h;
    });
    return { ...decoded, boxes, labels, iscrowd, areas, imageId: info.id };
  }

  /** The validated records as a COCO instances object (e.g. ground truth for an evaluator). */
  toCocoInstances(): CocoInstances {
    return {
      images: this.entries.map((e) => e.image),
      annotations: this.entries.flatMap((e) => e.annotations),
      categories: this.categoryIds.map((id, i) => ({ id, name: this.classNames[i]! })),
    };
  }
}

function verifyMode(v: CocoDatasetOptions['verifyImages']): VerifyImages {
  if (v === undefined || v === true) return 'header';
  return v === false ? 'none' : v;
}

/** Returns why an image file is unusable, or undefined if its header (and with `decode`, its body) reads and matches. */
async function checkImageFile(file: string, info: CocoImage, decode: boolean): Promise<string | undefined> {
  try {
    const meta = await sharp(file).metadata();
    if (meta.format !== 'jpeg' && meta.format !== 'png') return `image file ${file} is ${meta.format}, expected JPEG or PNG`;
    if (meta.width !== info.width || meta.height !== info.height) {
      return `image file ${file} is ${meta.width}x${meta.height} but the JSON says ${info.width}x${info.height}`;
    }
    // The whole body, as training will read it (failOn 'warning' like decodeImage's default).
    if (decode) await sharp(file).raw().toBuffer();
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const msg = (e as Error).message;
    if (code === 'ENOENT' || /missing|no such file/i.test(msg)) return `image file ${file} is missing`;
    return `image file ${file} is unreadable or corrupt: ${msg}`;
  }
}
