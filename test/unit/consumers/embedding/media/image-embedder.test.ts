// The real EfficientNet-Lite0 ONNX (converted by setup, see infra/models/media/) against the
// reference made by test/reference/check-image-model.py (Pillow + Python onnxruntime, which share
// no code with this path: sharp decodes and resizes here).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { cosineSimilarity, ImageEmbedder, normalise } from '../../../../../consumers/embedding/index.ts';
import { ensureImageModel, sha256File } from '../../../../../infra/models/index.ts';
import { IMAGE_MODEL } from '../../../../../topology/media-models.ts';
import { ContractError } from '../../../../../topology/index.ts';
import { errorOf } from '../../../../support/error-kinds.ts';

const UNDECODABLE = errorOf(ContractError, 'media-undecodable');

const FIXTURES = fileURLToPath(new URL('../../../../fixtures/media/', import.meta.url));

interface ImageReference {
  photos: { file: string; top1: number; embedding: number[] }[];
}
interface Photos {
  photos: { file: string; imagenet: number | null }[];
}

const reference = JSON.parse(readFileSync(`${FIXTURES}image-reference.json`, 'utf8')) as ImageReference;
const expected = JSON.parse(readFileSync(`${FIXTURES}photos.json`, 'utf8')) as Photos;

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** The transforms of the near-duplicate benchmark, done with sharp on the original bytes. */
const TRANSFORMS: Record<string, (input: Buffer) => Promise<Buffer>> = {
  'crop to 70%': async (input) => {
    const { width = 0, height = 0 } = await sharp(input).metadata();
    const w = Math.round(width * 0.7);
    const h = Math.round(height * 0.7);
    return sharp(input)
      .extract({ left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h })
      .jpeg()
      .toBuffer();
  },
  'horizontal flip': (input) => sharp(input).flop().jpeg().toBuffer(),
  'JPEG quality 30': (input) => sharp(input).jpeg({ quality: 30 }).toBuffer(),
  'brightness +25%': (input) => sharp(input).modulate({ brightness: 1.25 }).jpeg().toBuffer(),
  'brightness -25%': (input) => sharp(input).modulate({ brightness: 0.75 }).jpeg().toBuffer(),
  'resize to half': async (input) => {
    const { width = 0 } = await sharp(input).metadata();
    return sharp(input)
      .resize(Math.round(width / 2))
      .png()
      .toBuffer();
  },
};

describe('ImageEmbedder (real EfficientNet-Lite0)', () => {
  let embedder: ImageEmbedder;
  let onnxPath: string;

  before(async () => {
    onnxPath = (await ensureImageModel()).onnxPath;
    embedder = await ImageEmbedder.create(onnxPath, { batchSize: 4 });
  });
  after(async () => embedder.close());

  it('uses the ONNX file whose sha256 the registry pins', async () => {
    assert.equal(await sha256File(onnxPath), IMAGE_MODEL.onnxSha256);
  });

  it('matches the Python reference within cosine 0.999 and gives its top-1 class', async () => {
    const out = await embedder.embed(reference.photos.map((p) => `${FIXTURES}${p.file}`));
    assert.equal(out.length, reference.photos.length);
    for (const [i, photo] of reference.photos.entries()) {
      const { vector, logits } = out[i]!;
      assert.equal(vector.length, IMAGE_MODEL.dimension);
      assert.equal(logits.length, 1000);
      const cosine = cosineSimilarity(vector, photo.embedding);
      assert.ok(cosine >= 0.999, `${photo.file}: cosine ${cosine} to the reference`);
      assert.equal(argmax(logits), photo.top1, `${photo.file}: top-1`);
      const label = expected.photos.find((p) => p.file === photo.file)?.imagenet;
      if (label !== null && label !== undefined) assert.equal(argmax(logits), label, `${photo.file}: ImageNet class`);
    }
  });

  it('gives the same vectors for bytes and paths, one at a time or batched', async () => {
    const files = reference.photos.slice(0, 3).map((p) => `${FIXTURES}${p.file}`);
    const batched = await embedder.embed(files);
    for (const [i, file] of files.entries()) {
      const [single] = await embedder.embed([readFileSync(file)]);
      assert.ok(cosineSimilarity(single!.vector, batched[i]!.vector) > 0.99999);
    }
  });

  it('finds the original photo first for transformed copies', async () => {
    const originals = reference.photos.map((p) => readFileSync(`${FIXTURES}${p.file}`));
    const indexed = await embedder.embed(originals);
    const misses: string[] = [];
    for (const [name, transform] of Object.entries(TRANSFORMS)) {
      const copies = await embedder.embed(await Promise.all(originals.map((o) => transform(o))));
      for (const [i, copy] of copies.entries()) {
        const scores = indexed.map((doc) => cosineSimilarity(copy.vector, doc.vector));
        const nearest = scores.indexOf(Math.max(...scores));
        if (nearest !== i) misses.push(`${name} of ${reference.photos[i]!.file} → ${reference.photos[nearest]!.file}`);
      }
    }
    assert.deepEqual(misses, []);
  });

  it('applies the EXIF orientation before cropping', async () => {
    const original = readFileSync(`${FIXTURES}${reference.photos[2]!.file}`);
    // Orientation 6 says "turn 90° clockwise to display", so the stored pixels are turned back.
    const tagged = await sharp(original).rotate(270).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
    const sideways = await sharp(original).rotate(270).jpeg({ quality: 95 }).toBuffer();
    const [a, b, c] = await embedder.embed([original, tagged, sideways]);
    assert.ok(cosineSimilarity(a!.vector, b!.vector) > 0.99, 'the tagged copy is seen upright');
    assert.ok(cosineSimilarity(a!.vector, c!.vector) < cosineSimilarity(a!.vector, b!.vector), 'an untagged sideways copy is not');
  });

  it('turns undecodable input into a ContractError `media-undecodable`', async () => {
    await assert.rejects(embedder.embed([Buffer.from('this is not an image')]), UNDECODABLE);
    await assert.rejects(embedder.embed([Buffer.alloc(0)]), UNDECODABLE);
    const jpeg = readFileSync(`${FIXTURES}${reference.photos[0]!.file}`);
    await assert.rejects(embedder.embed([jpeg.subarray(0, 200)]), UNDECODABLE);
  });

  it('reads a greyscale PNG with alpha and a tiny image as RGB', async () => {
    const grey = await sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 90, g: 90, b: 90, alpha: 0.5 } } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const tiny = await sharp({ create: { width: 3, height: 2, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    const out = await embedder.embed([grey, tiny]);
    for (const { vector } of out) assert.ok(vector.every(Number.isFinite));
  });
});

describe('normalise', () => {
  it('maps interleaved RGB bytes to channel planes of (x - mean) / scale', () => {
    const rgb = Uint8Array.from([0, 127, 255, 255, 0, 127, 127, 255, 0, 1, 2, 3]);
    const out = normalise(rgb, 2, 127, 128);
    assert.deepEqual(Array.from(out), [-127 / 128, 1, 0, -126 / 128, 0, -127 / 128, 1, -125 / 128, 1, 0, -127 / 128, -124 / 128]);
  });
});
