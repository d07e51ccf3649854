import * as path from 'node:path';
import { DetkitError, formatValue } from '../core.js';
import type { CocoAnnotation, CocoCategory, CocoImage } from './types.js';

/** A record that failed validation and was skipped (only with `skipInvalid`). */
export interface SkippedRecord {
  record: string;
  reason: string;
}

export interface ValidatedCoco {
  categories: CocoCategory[];
  images: CocoImage[];
  /** Annotations per valid image id, in file order. */
  annotationsByImage: Map<number, CocoAnnotation[]>;
  skipped: SkippedRecord[];
  /** Annotation ids that occur more than once (only collected with `forEvaluation`; else an error). */
  duplicateAnnotationIds: number[];
}

export interface ValidateOptions {
  annFile: string;
  imageDir: string;
  skipInvalid: boolean;
  /** Boxes may exceed the image by this many pixels (rounding in real data); they are clipped. */
  boxTolerance: number;
  /**
   * Ground truth for `detkit eval --gt`, checked as pycocotools reads it: images need only an
   * id (width and height are checked when present; file_name is not used), categories need
   * no name, empty boxes count, and a repeated annotation id is reported in
   * `duplicateAnnotationIds` instead of failing.
   */
  forEvaluation?: boolean;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Collects problems: throws at the first one (fail fast) or records it and lets the caller skip. */
class Problems {
  readonly skipped: SkippedRecord[] = [];
  constructor(private readonly opts: ValidateOptions) {}

  report(record: string, reason: string): void {
    if (!this.opts.skipInvalid) {
      throw new DetkitError('DATASET_INVALID', `${this.opts.annFile}: ${record}: ${reason}`, { file: this.opts.annFile, record, reason });
    }
    this.skipped.push({ record, reason });
  }
}

/** Resolves file_name inside imageDir, or returns an error string if it escapes the folder. */
export function resolveInside(imageDir: string, fileName: string): string | { error: string } {
  if (path.isAbsolute(fileName) || path.win32.isAbsolute(fileName)) return { error: `file_name '${fileName}' is absolute; it must be relative to the image folder` };
  const root = path.resolve(imageDir);
  const full = path.resolve(root, fileName);
  const rel = path.relative(root, full);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return { error: `file_name '${fileName}' points outside the image folder ${imageDir}` };
  return full;
}

const show = (v: unknown): string => formatValue(v, 80);

function checkCategory(c: unknown, forEvaluation: boolean): string | undefined {
  if (!isObj(c)) return 'not an object';
  if (!isInt(c.id)) return `missing or non-integer 'id' (${show(c.id)})`;
  if (typeof c.name !== 'string' && !(forEvaluation && c.name === undefined)) return `missing or non-string 'name'`;
  return undefined;
}

function checkImage(im: unknown, forEvaluation: boolean): string | undefined {
  if (!isObj(im)) return 'not an object';
  if (!isInt(im.id)) return `missing or non-integer 'id' (${show(im.id)})`;
  const optional = (key: string) => forEvaluation && im[key] === undefined;
  if (!forEvaluation && (typeof im.file_name !== 'string' || im.file_name === '')) return `missing or empty 'file_name'`;
  if (!optional('width') && (!isInt(im.width) || im.width <= 0)) return `'width' must be a positive integer, got ${show(im.width)}`;
  if (!optional('height') && (!isInt(im.height) || im.height <= 0)) return `'height' must be a positive integer, got ${show(im.height)}`;
  return undefined;
}

function checkAnnotation(a: unknown, images: Map<number, CocoImage>, categoryIds: Set<number>, tol: number, forEvaluation: boolean): string | undefined {
  if (!isObj(a)) return 'not an object';
  if (!isInt(a.id)) return `missing or non-integer 'id' (${show(a.id)})`;
  if (!isInt(a.image_id)) return `missing or non-integer 'image_id'`;
  if (!isInt(a.category_id)) return `missing or non-integer 'category_id'`;
  if (!categoryIds.has(a.category_id)) return `unknown category_id ${a.category_id} (known: ${[...categoryIds].join(', ')})`;
  const im = images.get(a.image_id);
  if (!im) return `image_id ${a.image_id} is not a (valid) image in 'images'`;
  const b = a.bbox;
  if (!Array.isArray(b) || b.length !== 4 || !b.every(isNum)) return `'bbox' must be [x, y, w, h] finite numbers, got ${show(b)}`;
  const [x, y, w, h] = b as number[] as [number, number, number, number];
  // Evaluation scores empty GT boxes as pycocotools does; training has no use for them.
  if (forEvaluation ? w < 0 || h < 0 : w <= 0 || h <= 0) return `bbox ${show(b)} has ${forEvaluation ? 'negative' : 'non-positive'} width or height`;
  const sized = isInt(im.width) && isInt(im.height);
  if (sized && (x < -tol || y < -tol || x + w > im.width + tol || y + h > im.height + tol)) {
    return `bbox ${show(b)} lies outside image ${im.id} (${im.width}x${im.height})`;
  }
  if (a.area !== undefined && (!isNum(a.area) || a.area < 0)) return `'area' must be a non-negative number, got ${show(a.area)}`;
  const crowdOk = a.iscrowd === 0 || a.iscrowd === 1 || (forEvaluation && typeof a.iscrowd === 'boolean');
  if (a.iscrowd !== undefined && !crowdOk) return `'iscrowd' must be 0 or 1, got ${show(a.iscrowd)}`;
  return undefined;
}

const label = (kind: string, i: number, rec: unknown): string => `${kind}[${i}]${isObj(rec) && rec.id !== undefined ? ` (id ${show(rec.id)})` : ''}`;

/** Structural validation of a parsed COCO instances file (image files are checked separately). */
export function validateCoco(json: unknown, opts: ValidateOptions): ValidatedCoco {
  const problems = new Problems(opts);
  if (!isObj(json)) throw new DetkitError('DATASET_INVALID', `${opts.annFile}: top level must be an object with images, annotations, categories`, { file: opts.annFile });
  for (const key of ['images', 'annotations', 'categories']) {
    if (!Array.isArray(json[key])) throw new DetkitError('DATASET_INVALID', `${opts.annFile}: missing array '${key}'`, { file: opts.annFile, key });
  }

  const forEvaluation = opts.forEvaluation ?? false;
  const categories: CocoCategory[] = [];
  const categoryIds = new Set<number>();
  (json.categories as unknown[]).forEach((c, i) => {
    const err = checkCategory(c, forEvaluation) ?? (categoryIds.has((c as CocoCategory).id) ? `duplicate category id ${(c as CocoCategory).id}` : undefined);
    if (err) return problems.report(label('categories', i, c), err);
    categories.push(c as CocoCategory);
    categoryIds.add((c as CocoCategory).id);
  });
  categories.sort((a, b) => a.id - b.id);

  const images = new Map<number, CocoImage>();
  const seenIds = new Set<number>();
  (json.images as unknown[]).forEach((im, i) => {
    let err = checkImage(im, forEvaluation);
    if (!err) {
      const id = (im as CocoImage).id;
      if (seenIds.has(id)) err = `duplicate image id ${id}`;
      seenIds.add(id);
    }
    if (!err && !forEvaluation) {
      const r = resolveInside(opts.imageDir, (im as CocoImage).file_name);
      if (typeof r !== 'string') err = r.error;
    }
    if (err) return problems.report(label('images', i, im), err);
    images.set((im as CocoImage).id, im as CocoImage);
  });
  const annotationsByImage = new Map<number, CocoAnnotation[]>();
  for (const id of images.keys()) annotationsByImage.set(id, []);

  const annIds = new Set<number>();
  const duplicateAnnotationIds: number[] = [];
  (json.annotations as unknown[]).forEach((a, i) => {
    let err = checkAnnotation(a, images, categoryIds, opts.boxTolerance, forEvaluation);
    if (!err && annIds.has((a as CocoAnnotation).id)) {
      if (forEvaluation) duplicateAnnotationIds.push((a as CocoAnnotation).id);
      else err = `duplicate annotation id ${(a as CocoAnnotation).id}`;
    }
    if (err) return problems.report(label('annotations', i, a), err);
    annIds.add((a as CocoAnnotation).id);
    annotationsByImage.get((a as CocoAnnotation).image_id)!.push(a as CocoAnnotation);
  });

  return { categories, images: [...images.values()], annotationsByImage, skipped: problems.skipped, duplicateAnnotationIds };
}
