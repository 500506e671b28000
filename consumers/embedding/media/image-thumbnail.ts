// A small preview of an indexed photo, kept in its point's payload, so that search results can show
// what they found: inline media exist only in the ingest topic, and a uri may point where a browser
// cannot go (file://). WebP at most 160 px on its longer side: 1.6–5 KB for the test photos.
import sharp from 'sharp';

export const THUMBNAIL_MAX_SIDE = 160;
const THUMBNAIL_QUALITY = 60;

/** A `data:image/webp;base64,…` URL of the image, upright (EXIF orientation applied), or null if it cannot be made. */
export async function imageThumbnail(bytes: Buffer): Promise<string | null> {
  try {
    const webp = await sharp(bytes, { failOn: 'error', autoOrient: true })
      .resize(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: THUMBNAIL_QUALITY })
      .toBuffer();
    return `data:image/webp;base64,${webp.toString('base64')}`;
  } catch {
    // The embedding decided whether the image is usable; a missing preview loses nothing searchable.
    return null;
  }
}
