import { DetkitError } from '../core.js';
import type { Dataset, Sample } from '../core.js';
import { tightBounds, type Box } from '../util/boxes.js';
import { canvasSample, objectCount, placeWithoutOverlap } from '../util/placement.js';
import { createRng, hashString, mixSeed, uniform } from '../util/rng.js';
import type { Rng } from '../core.js';

export interface ShapesOptions {
  count?: number;
  seed?: number;
  /** Square canvas side. Default 64. */
  canvasSize?: number;
  /** Shapes per image, inclusive. Default [1, 3]. */
  shapesPerImage?: [number, number];
  /** Shape size (bounding square side) as a fraction of the canvas. Default [0.15, 0.45]. */
  sizeRange?: [number, number];
  /** Label only, so train/val built from one seed differ. Default 'train'. */
  split?: string;
}

export const SHAPE_CLASS_NAMES: readonly string[] = ['circle', 'square', 'triangle'];

const COLOURS: readonly [number, number, number][] = [
  [0.9, 0.2, 0.2],
  [0.2, 0.8, 0.3],
  [0.25, 0.4, 0.95],
  [0.95, 0.85, 0.2],
];
const BACKGROUNDS: readonly [number, number, number][] = [
  [0.1, 0.1, 0.1],
  [0.3, 0.3, 0.3],
  [0.15, 0.1, 0.25],
];

/** Does pixel centre (px, py) lie inside shape `kind` framed by the s x s square at (x0, y0)? */
function inside(kind: number, px: number, py: number, x0: number, y0: number, s: number): boolean {
  const u = (px - x0) / s;
  const v = (py - y0) / s;
  if (u < 0 || u > 1 || v < 0 || v > 1) return false;
  if (kind === 0) return (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25;
  if (kind === 1) return true;
  // Upright isosceles triangle: apex at (0.5, 0), base along v = 1.
  return v >= 2 * Math.abs(u - 0.5);
}

/**
 * Circles, squares and triangles in a few colours, no two touching, with exact boxes (tight around
 * the painted pixels). Tiny and fast: for tests and smoke runs. Image i is a pure function of (seed, split, i).
 */
export class ShapesDataset implements Dataset {
  readonly classNames = SHAPE_CLASS_NAMES;
  readonly length: number;
  readonly seed: number;
  readonly canvasSize: number;
  readonly shapesPerImage: [number, number];
  readonly sizeRange: [number, number];
  readonly split: string;

  constructor(options: ShapesOptions = {}) {
    this.length = options.count ?? 256;
    this.seed = options.seed ?? 0;
    this.canvasSize = options.canvasSize ?? 64;
    this.shapesPerImage = options.shapesPerImage ?? [1, 3];
    this.sizeRange = options.sizeRange ?? [0.15, 0.45];
    this.split = options.split ?? 'train';
    if (!Number.isInteger(this.length) || this.length < 0) throw new DetkitError('INVALID_ARGUMENT', `shapes: count must be a non-negative integer, got ${this.length}`);
    if (!Number.isInteger(this.canvasSize) || this.canvasSize < 8) throw new DetkitError('INVALID_ARGUMENT', `shapes: canvasSize must be an integer >= 8, got ${this.canvasSize}`);
    const [lo, hi] = this.sizeRange;
    if (!(lo > 0 && hi >= lo && hi <= 1)) throw new DetkitError('INVALID_ARGUMENT', `shapes: sizeRange must satisfy 0 < min <= max <= 1, got [${lo}, ${hi}]`);
  }

  get(index: number): Sample {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new DetkitError('INVALID_ARGUMENT', `shapes: index ${index} out of range [0, ${this.length})`);
    }
    const rng = createRng(mixSeed(this.seed, hashString(`shapes/${this.split}`), index));
    const S = this.canvasSize;
    const bg = BACKGROUNDS[rng.int(BACKGROUNDS.length)]!;
    const image = new Float32Array(S * S * 3);
    for (let i = 0; i < S * S; i++) image.set(bg, 3 * i);
    const boxes: Box[] = [];
    const labels: number[] = [];
    const n = objectCount(rng, this.shapesPerImage);
    for (let k = 0; k < n; k++) this.placeShape(rng, image, boxes, labels);
    return canvasSample(image, S, boxes, labels, index);
  }

  private placeShape(rng: Rng, image: Float32Array, boxes: Box[], labels: number[]): void {
    const S = this.canvasSize;
    const kind = rng.int(3);
    const colour = COLOURS[rng.int(COLOURS.length)]!;
    const s = Math.max(4, Math.round(uniform(rng, this.sizeRange[0], this.sizeRange[1]) * S));
    // The mask depends on the shape and its size only, not on where it goes.
    const mask = new Uint8Array(s * s);
    for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) mask[y * s + x] = inside(kind, x + 0.5, y + 0.5, 0, 0, s) ? 1 : 0;
    const ink = tightBounds(s, s, (i) => mask[i] === 1);
    if (!ink) return;
    // A one-pixel margin and no overlap: shapes never touch, so every box frames exactly its own pixels.
    const spot = placeWithoutOverlap(rng, boxes, { canvasSize: S, height: s, width: s, ink, maxOverlap: 0, tries: 20, margin: 1 });
    if (!spot) return;
    for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) if (mask[y * s + x]) image.set(colour, 3 * ((spot.y + y) * S + spot.x + x));
    boxes.push(spot.box);
    labels.push(kind);
  }
}
