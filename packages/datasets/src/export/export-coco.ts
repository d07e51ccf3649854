import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DetkitError } from '../core.js';
import type { Dataset } from '../core.js';
import type { CocoAnnotation, CocoImage, CocoInstances } from '../coco/types.js';
import { encodePng } from '../image/codec.js';
import { tempSibling } from '../util/atomic.js';

export const EXPORT_ANN_FILE = 'instances.json';
export const EXPORT_IMAGE_DIR = 'images';

export interface ExportCocoOptions {
  /** Replace `dir` if it exists (the old one is removed only after the new one is complete). */
  overwrite?: boolean;
  /** PNGs encoded concurrently. Default 8. */
  concurrency?: number;
}

export interface ExportCocoResult {
  dir: string;
  annFile: string;
  imageDir: string;
  images: number;
  annotations: number;
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}

/**
 * Writes a dataset as COCO: `dir/images/<id>.png` (lossless) + `dir/instances.json`. Everything
 * goes to a temp sibling folder renamed into place at the end: `dir` is complete or absent.
 * Category ids are the dataset's `categoryIds` if it has them, else label + 1.
 */
export async function exportCoco(dataset: Dataset, dir: string, options: ExportCocoOptions = {}): Promise<ExportCocoResult> {
  const target = path.resolve(dir);
  if ((await exists(target)) && !options.overwrite) {
    throw new DetkitError('IO', `export: ${target} already exists (pass overwrite to replace it)`, { file: target });
  }
  const tmp = tempSibling(target);
  const categoryIds = (dataset as { categoryIds?: number[] }).categoryIds ?? dataset.classNames.map((_, i) => i + 1);
  const images: CocoImage[] = [];
  const annotations: CocoAnnotation[] = [];
  try {
    await fs.mkdir(path.join(tmp, EXPORT_IMAGE_DIR), { recursive: true });
    const concurrency = options.concurrency ?? 8;
    for (let start = 0; start < dataset.length; start += concurrency) {
      const ids = Array.from({ length: Math.min(concurrency, dataset.length - start) }, (_, k) => start + k);
      const written = await Promise.all(ids.map(async (i) => {
        const s = await dataset.get(i);
        const fileName = `${EXPORT_IMAGE_DIR}/${String(s.imageId).padStart(6, '0')}.png`;
        await fs.writeFile(path.join(tmp, fileName), await encodePng(s.image, s.height, s.width, s.channels));
        return { s, fileName };
      }));
      for (const { s, fileName } of written) {
        images.push({ id: s.imageId, file_name: fileName, width: s.width, height: s.height });
        const areas = (s as { areas?: Float32Array }).areas;
        for (let j = 0; j < s.labels.length; j++) {
          const [x0, y0, x1, y1] = [0, 1, 2, 3].map((k) => s.boxes[4 * j + k]!) as [number, number, number, number];
          annotations.push({
            id: annotations.length + 1,
            image_id: s.imageId,
            category_id: categoryIds[s.labels[j]!]!,
            bbox: [x0, y0, x1 - x0, y1 - y0],
            area: areas ? areas[j]! : (x1 - x0) * (y1 - y0),
            iscrowd: (s.iscrowd?.[j] ?? 0) as 0 | 1,
          });
        }
      }
    }
    const instances: CocoInstances = {
      images,
      annotations,
      categories: dataset.classNames.map((name, i) => ({ id: categoryIds[i]!, name })),
    };
    await fs.writeFile(path.join(tmp, EXPORT_ANN_FILE), JSON.stringify(instances));
    if (await exists(target)) {
      // Swap: move the old folder aside first, so a crash leaves either old or new, never a mix.
      const old = tempSibling(target);
      await fs.rename(target, old);
      await fs.rename(tmp, target);
      await fs.rm(old, { recursive: true, force: true });
    } else {
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.rename(tmp, target);
    }
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (e instanceof DetkitError) throw e;
    throw new DetkitError('IO', `export to ${target} failed: ${(e as Error).message}`, { file: target }, { cause: e });
  }
  return { dir: target, annFile: path.join(target, EXPORT_ANN_FILE), imageDir: target, images: images.length, annotations: annotations.length };
}
