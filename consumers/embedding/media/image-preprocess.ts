// Image bytes to the model's input: decoded and resized by sharp (libvips, prebuilt binaries from
// the npm registry), then normalised here. EXIF orientation is applied first, so a photo taken
// sideways is seen upright; alpha is dropped; greyscale and CMYK become sRGB.
import sharp from 'sharp';
import type { ImageModelSpec } from '../../../topology/media-models.ts';
import { ContractError, isMediaContentError, type MediaErrorCode } from '../../../topology/errors.ts';

export interface PreprocessedImage {
  /** [3, crop, crop], channel-major, (x - mean) / scale. */
  readonly pixels: Float32Array;
  /** The size of the decoded image, after EXIF rotation. */
  readonly width: number;
  readonly height: number;
}

/** Short side to `resizeShortSide` (Lanczos-3), the centre `cropSize` square, then normalised. */
export async function preprocessImage(input: Buffer | string, spec: ImageModelSpec): Promise<PreprocessedImage> {
  const { resizeShortSide: side, cropSize: crop } = spec;
  try {
    const image = sharp(input, { failOn: 'error', autoOrient: true });
    const { width, height } = (await image.metadata()).autoOrient;
    const scale = side / Math.min(width, height);
    const resizedWidth = Math.max(side, Math.round(width * scale));
    const resizedHeight = Math.max(side, Math.round(height * scale));
    const { data, info } = await image
      .resize(resizedWidth, resizedHeight, { fit: 'fill', kernel: 'lanczos3' })
      .extract({ left: Math.floor((resizedWidth - crop) / 2), top: Math.floor((resizedHeight - crop) / 2), width: crop, height: crop })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== crop || info.height !== crop) {
      throw new ContractError<MediaErrorCode>(
        'media-undecodable',
        `image decoded to ${info.width}x${info.height}x${info.channels}, expected ${crop}x${crop}x3`,
      );
    }
    return { pixels: normalise(data, crop, spec.mean, spec.scale), width, height };
  } catch (error) {
    if (isMediaContentError(error)) throw error;
    throw new ContractError<MediaErrorCode>(
      'media-undecodable',
      `not a readable image: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/** Interleaved RGB bytes to channel-major floats. */
export function normalise(rgb: Uint8Array, size: number, mean: number, scale: number): Float32Array {
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = (rgb[3 * i]! - mean) / scale;
    out[plane + i] = (rgb[3 * i + 1]! - mean) / scale;
    out[2 * plane + i] = (rgb[3 * i + 2]! - mean) / scale;
  }
  return out;
}
