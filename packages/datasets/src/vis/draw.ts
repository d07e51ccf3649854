import sharp from 'sharp';
import { DetkitError } from '../core.js';
import type { Detection } from '../core.js';
import { toUint8 } from '../image/codec.js';

/** What can be drawn on: a Sample, or any HWC float image in [0, 1] (ground truth optional). */
export interface DrawableImage {
  image: Float32Array;
  height: number;
  width: number;
  channels: number;
  /** Ground-truth boxes (xyxy pixels) and labels, drawn unless `groundTruth` overrides them. */
  boxes?: Float32Array;
  labels?: Int32Array;
}

export interface DrawOptions {
  predictions?: readonly Pick<Detection, 'box' | 'label' | 'score'>[];
  /** Explicit ground truth; `false` hides the image's own boxes. */
  groundTruth?: { boxes: ArrayLike<number>; labels: ArrayLike<number> } | false;
  classNames?: readonly string[];
  /** Predictions below this score are not drawn. Default 0. */
  scoreThreshold?: number;
  /** Nearest-neighbour upscale so small images stay readable. Default 1. */
  scale?: number;
  gtColor?: string;
  predColor?: string;
  strokeWidth?: number;
}

export const DEFAULT_GT_COLOR = '#00ff00';
export const DEFAULT_PRED_COLOR = '#ff0000';

const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function boxSvg(box: ArrayLike<number>, text: string, color: string, scale: number, stroke: number, textBelow: boolean): string {
  const [x0, y0, x1, y1] = [box[0]!, box[1]!, box[2]!, box[3]!].map((v) => v * scale) as [number, number, number, number];
  const ty = textBelow ? y1 + 11 : Math.max(10, y0 - 2);
  return (
    `<rect x="${x0}" y="${y0}" width="${Math.max(0, x1 - x0)}" height="${Math.max(0, y1 - y0)}" fill="none" stroke="${color}" stroke-width="${stroke}"/>` +
    `<text x="${x0}" y="${ty}" font-family="sans-serif" font-size="10" fill="${color}">${escapeXml(text)}</text>`
  );
}

/**
 * Renders boxes over an image and returns PNG bytes: ground truth and predictions in different
 * colours, with class names (and scores for predictions). Uses sharp with an SVG overlay.
 */
export async function drawDetections(input: DrawableImage, options: DrawOptions = {}): Promise<Buffer> {
  const { height: h, width: w, channels: c } = input;
  if (c !== 1 && c !== 3) throw new DetkitError('INVALID_ARGUMENT', `drawDetections: images need 1 or 3 channels, got ${c}`);
  const scale = options.scale ?? 1;
  if (!(Number.isInteger(scale) && scale >= 1)) throw new DetkitError('INVALID_ARGUMENT', `drawDetections: 'scale' must be a positive integer, got ${scale}`);
  const names = options.classNames ?? [];
  const nameOf = (l: number): string => names[l] ?? String(l);
  const stroke = options.strokeWidth ?? 2;
  const parts: string[] = [];

  const gt = options.groundTruth === false ? undefined : options.groundTruth ?? (input.boxes && input.labels ? { boxes: input.boxes, labels: input.labels } : undefined);
  if (gt) {
    for (let i = 0; i < gt.labels.length; i++) {
      const b = [gt.boxes[4 * i]!, gt.boxes[4 * i + 1]!, gt.boxes[4 * i + 2]!, gt.boxes[4 * i + 3]!];
      parts.push(boxSvg(b, nameOf(gt.labels[i]!), options.gtColor ?? DEFAULT_GT_COLOR, scale, stroke, true));
    }
  }
  for (const p of options.predictions ?? []) {
    if (p.score < (options.scoreThreshold ?? 0)) continue;
    parts.push(boxSvg(p.box, `${nameOf(p.label)} ${p.score.toFixed(2)}`, options.predColor ?? DEFAULT_PRED_COLOR, scale, stroke, false));
  }

  const W = w * scale;
  const H = h * scale;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" shape-rendering="crispEdges">${parts.join('')}</svg>`;
  let img = sharp(Buffer.from(toUint8(input.image).buffer), { raw: { width: w, height: h, channels: c as 1 | 3 } });
  if (c === 1) img = img.toColourspace('srgb');
  if (scale !== 1) img = sharp(await img.resize(W, H, { kernel: 'nearest' }).png().toBuffer());
  return img.composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).removeAlpha().png().toBuffer();
}
