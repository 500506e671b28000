import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ImageEmbedder, imageLabels, labelText } from '../../../../../consumers/embedding/index.ts';
import { ensureImageModel } from '../../../../../infra/models/index.ts';
import { ContractError, DEFAULT_IMAGE_LABELS } from '../../../../../topology/index.ts';
import { IMAGENET_CLASSES } from '../../../../../topology/imagenet-classes.ts';
import { errorOf } from '../../../../support/error-kinds.ts';

const FIXTURES = fileURLToPath(new URL('../../../../fixtures/media/', import.meta.url));

/** Logits whose softmax gives about these probabilities to these classes (the rest share what is left). */
function logitsFor(probabilities: Record<number, number>): Float32Array {
  const rest = 1 - Object.values(probabilities).reduce((a, b) => a + b, 0);
  const logits = new Float32Array(1000).fill(Math.log(rest / (1000 - Object.keys(probabilities).length)));
  for (const [index, p] of Object.entries(probabilities)) logits[Number(index)] = Math.log(p);
  return logits;
}

describe('imageLabels', () => {
  it('names the classes at or above the floor, most probable first, at most max, with their WordNet synonyms', () => {
    const logits = logitsFor({ 301: 0.6, 304: 0.2, 985: 0.11, 970: 0.05 });
    const labels = imageLabels(logits, { max: 3, minPercent: 10 });
    assert.deepEqual(
      labels.map((l) => [l.name, l.index]),
      [
        ['ladybug', 301],
        ['leaf beetle', 304],
        ['daisy', 985],
      ],
    );
    assert.deepEqual(labels[0]!.synonyms, ['ladybeetle', 'lady beetle', 'ladybird', 'ladybird beetle']);
    assert.ok(Math.abs(labels[0]!.score - 0.6) < 1e-6 && Math.abs(labels[2]!.score - 0.11) < 1e-6);
    assert.deepEqual(
      imageLabels(logits, { max: 2, minPercent: 10 }).map((l) => l.name),
      ['ladybug', 'leaf beetle'],
    );
    assert.deepEqual(
      imageLabels(logits, { max: 3, minPercent: 30 }).map((l) => l.name),
      ['ladybug'],
    );
    assert.deepEqual(imageLabels(logits, { max: 0, minPercent: 10 }), []);
    assert.deepEqual(imageLabels(new Float32Array(1000), { max: 3, minPercent: 1 }), [], 'a flat distribution names nothing');
  });

  it('refuses logits that are not the 1000 ImageNet classes', () => {
    assert.throws(() => imageLabels(new Float32Array(1001), DEFAULT_IMAGE_LABELS), errorOf(ContractError, 'encoder-config', /1000/));
  });

  it('writes one sentence per label: every lemma, then the gloss', () => {
    const text = labelText(imageLabels(logitsFor({ 301: 0.7, 985: 0.2 }), DEFAULT_IMAGE_LABELS));
    assert.deepEqual(text.split('\n'), [
      `ladybug, ladybeetle, lady beetle, ladybird, ladybird beetle: ${IMAGENET_CLASSES[301]![1]}.`,
      `daisy: ${IMAGENET_CLASSES[985]![1]}.`,
    ]);
  });
});

describe('imageLabels on the real EfficientNet-Lite0 and the fixture photos', () => {
  let embedder: ImageEmbedder;
  const photos = (JSON.parse(readFileSync(`${FIXTURES}photos.json`, 'utf8')) as { photos: { file: string; imagenet: number | null }[] })
    .photos;

  before(async () => {
    embedder = await ImageEmbedder.create((await ensureImageModel()).onnxPath, { intraOpNumThreads: 1 });
  });
  after(() => embedder.close());

  it('labels each photo whose ImageNet class is known with that class first, under the default settings', async () => {
    const known = photos.filter((p) => p.imagenet !== null);
    assert.ok(known.length >= 4);
    const embedded = await embedder.embed(known.map((p) => `${FIXTURES}${p.file}`));
    known.forEach((photo, i) => {
      const labels = imageLabels(embedded[i]!.logits, DEFAULT_IMAGE_LABELS);
      assert.equal(labels[0]?.index, photo.imagenet, `${photo.file}: ${JSON.stringify(labels.map((l) => [l.name, l.score]))}`);
      assert.ok(labels.length <= DEFAULT_IMAGE_LABELS.max && labels.every((l) => l.score >= DEFAULT_IMAGE_LABELS.minPercent / 100));
    });
  });
});
