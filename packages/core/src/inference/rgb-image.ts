import { DetkitError } from '../errors.js';

/** An image as detectors take it: HWC float32 RGB in [0, 1] (what datasets' `decodeImage` returns). */
export interface RgbImage {
  image: Float32Array;
  height: number;
  width: number;
  channels: 3;
}

/**
 * RGBA bytes (a canvas's ImageData) -> RgbImage: alpha dropped, /255, the same numbers sharp's
 * decoding of the same PNG gives in Node.
 */
export function rgbaToRgbImage(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): RgbImage {
  if (rgba.length !== width * height * 4) {
    throw new DetkitError('INVALID_ARGUMENT', `rgbaToRgbImage: ${rgba.length} bytes for a ${width}x${height} RGBA image, expected ${width * height * 4}`);
  }
  const n = width * height;
  const image = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    image[3 * i] = rgba[4 * i]! / 255;
    image[3 * i + 1] = rgba[4 * i + 1]! / 255;
    image[3 * i + 2] = rgba[4 * i + 2]! / 255;
  }
  return { image, height, width, channels: 3 };
}
