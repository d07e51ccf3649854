import sharp from 'sharp';
import { DetkitError } from '../core.js';

export interface DecodedImage {
  /** HWC float32 in [0, 1], 3 channels. */
  image: Float32Array;
  height: number;
  width: number;
  channels: 3;
}

/** Decodes a JPEG/PNG (file path or bytes) to 3-channel float HWC; alpha is dropped, grey expanded. */
export async function decodeImage(input: string | Buffer, what = typeof input === 'string' ? input : '<buffer>'): Promise<DecodedImage> {
  let data: Buffer;
  let info: sharp.OutputInfo;
  try {
    ({ data, info } = await sharp(input).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new DetkitError('DATASET_INVALID', `cannot decode image ${what}: ${(e as Error).message}`, { file: what }, { cause: e });
  }
  const n = info.width * info.height;
  const image = new Float32Array(n * 3);
  if (info.channels === 3) {
    for (let i = 0; i < image.length; i++) image[i] = data[i]! / 255;
  } else if (info.channels === 1) {
    for (let i = 0; i < n; i++) image[3 * i] = image[3 * i + 1] = image[3 * i + 2] = data[i]! / 255;
  } else {
    throw new DetkitError('DATASET_INVALID', `image ${what} has ${info.channels} channels after decoding; expected 1 or 3`, { file: what });
  }
  return { image, height: info.height, width: info.width, channels: 3 };
}

/** Float HWC in [0, 1] -> 8-bit, rounding to nearest and clamping out-of-range values. */
export function toUint8(image: Float32Array): Uint8Array {
  const out = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) {
    const v = Math.round(image[i]! * 255);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/** Encodes float HWC (1, 3 or 4 channels) as a lossless PNG. */
export async function encodePng(image: Float32Array, height: number, width: number, channels: number): Promise<Buffer> {
  return sharp(Buffer.from(toUint8(image).buffer), { raw: { width, height, channels: channels as 1 | 3 | 4 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}
