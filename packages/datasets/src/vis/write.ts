import * as path from 'node:path';
import type { Detection } from '../core.js';
import { writeFileAtomic } from '../util/atomic.js';
import { drawDetections, type DrawableImage, type DrawOptions } from './draw.js';

export interface VisItem {
  image: DrawableImage & { imageId?: number };
  predictions?: readonly Pick<Detection, 'box' | 'label' | 'score'>[];
  /** File name without extension; default the image id, else the position. */
  name?: string;
}

/** Draws each item and writes `dir/<name>.png` (atomically); returns the paths written. */
export async function writeVisualisations(dir: string, items: readonly VisItem[], options: Omit<DrawOptions, 'predictions'> = {}): Promise<string[]> {
  const files: string[] = [];
  for (const [i, item] of items.entries()) {
    const png = await drawDetections(item.image, { ...options, predictions: item.predictions });
    const file = path.join(dir, `${item.name ?? String(item.image.imageId ?? i)}.png`);
    await writeFileAtomic(file, png);
    files.push(file);
  }
  return files;
}
