// The query side of the image near-duplicate benchmark: the transformed copies issue 9 names, each
// made with sharp from the original's bytes and saved as JPEG (quality 90 unless the transform is
// the JPEG quality itself), the form a user's copy of a photo usually takes.
import sharp from 'sharp';

export const IMAGE_TRANSFORMS = ['crop-70', 'flip', 'jpeg-q30', 'brighter-25', 'darker-25', 'half-size'] as const;
export type ImageTransform = (typeof IMAGE_TRANSFORMS)[number];

export const TRANSFORM_LABELS: Readonly<Record<ImageTransform, string>> = {
  'crop-70': 'centre crop to 70% of each side',
  flip: 'horizontal flip',
  'jpeg-q30': 'JPEG quality 30',
  'brighter-25': 'brightness +25%',
  'darker-25': 'brightness -25%',
  'half-size': 'resized to half (Lanczos)',
};

const QUERY_JPEG_QUALITY = 90;

export async function transformImage(original: Buffer, transform: ImageTransform): Promise<Buffer> {
  const image = sharp(original).rotate(); // honour EXIF orientation, as a viewer would
  const meta = await image.clone().metadata();
  // EXIF orientations 5-8 turn the image a quarter: its upright size is the stored one swapped.
  const [width, height] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
  switch (transform) {
    case 'crop-70': {
      const [w, h] = [Math.round(width * 0.7), Math.round(height * 0.7)];
      return image
        .extract({ left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h })
        .jpeg({ quality: QUERY_JPEG_QUALITY })
        .toBuffer();
    }
    case 'flip':
      return image.flop().jpeg({ quality: QUERY_JPEG_QUALITY }).toBuffer();
    case 'jpeg-q30':
      return image.jpeg({ quality: 30 }).toBuffer();
    case 'brighter-25':
      return image.linear(1.25, 0).jpeg({ quality: QUERY_JPEG_QUALITY }).toBuffer();
    case 'darker-25':
      return image.linear(0.75, 0).jpeg({ quality: QUERY_JPEG_QUALITY }).toBuffer();
    case 'half-size':
      return image
        .resize(Math.max(1, Math.round(width / 2)), Math.max(1, Math.round(height / 2)), { kernel: 'lanczos3', fit: 'fill' })
        .jpeg({ quality: QUERY_JPEG_QUALITY })
        .toBuffer();
  }
}
