import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import sharp, { type Metadata } from 'sharp';
import { imageThumbnail, THUMBNAIL_MAX_SIDE } from '../../../../../consumers/embedding/index.ts';

const PHOTOS = new URL('../../../../fixtures/media/photos/', import.meta.url);

const decode = async (url: string): Promise<Metadata> => {
  const match = /^data:image\/webp;base64,(.+)$/.exec(url);
  assert.ok(match, `a WebP data URL: ${url.slice(0, 40)}`);
  return sharp(Buffer.from(match[1]!, 'base64')).metadata();
};

describe('imageThumbnail', () => {
  it('makes a small WebP preview, its longer side at most 160 px, keeping the aspect ratio', async () => {
    const photo = await readFile(new URL('mountain.jpg', PHOTOS));
    const original = await sharp(photo).metadata();
    const url = await imageThumbnail(photo);
    const meta = await decode(url!);
    assert.equal(meta.format, 'webp');
    assert.equal(Math.max(meta.width, meta.height), THUMBNAIL_MAX_SIDE);
    assert.ok(
      Math.abs(meta.width / meta.height - original.width / original.height) < 0.03,
      `aspect ${meta.width}x${meta.height} vs ${original.width}x${original.height}`,
    );
    assert.ok(url!.length < 12_000, `small enough to travel in every reply: ${url!.length} characters`);
  });

  it('never enlarges a small image, and applies EXIF orientation (a sideways photo is upright)', async () => {
    const small = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#c33' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const meta = await decode((await imageThumbnail(small))!);
    assert.deepEqual([meta.width, meta.height], [20, 40]);
  });

  it('gives null for bytes that are no image', async () => {
    assert.equal(await imageThumbnail(Buffer.from('not an image')), null);
  });
});
