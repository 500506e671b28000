import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TENANT, pointId, type SearchHit, type SearchMode } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { MEDIA_FIXTURES as FIXTURES } from '../support/media-queries.ts';
import { startMediaStack, type MediaStack } from '../support/media-stack.ts';

// A photo found by what is in it, on real Kafka, Redis, the Qdrant engine and the real models: the
// six fixture photos under names that say nothing (img-01.jpg…), their labels from EfficientNet-Lite0's
// ImageNet classes indexed as their text; text queries written as a person would describe the photo.
const PHOTOS = ['dogs', 'ladybird', 'mountain', 'paintbrushes', 'stream', 'yellow-flower'];
const CLI = fileURLToPath(new URL('../../infra/cli/bin.mjs', import.meta.url));
const opaque = (photo: string): string => `img-${String(PHOTOS.indexOf(photo) + 1).padStart(2, '0')}.jpg`;

describe('image labels: photos found by their content', () => {
  let h: Harness;
  let mediaStack: MediaStack;

  before(async () => {
    h = await createHarness();
    mediaStack = await startMediaStack(h, { ocr: false });
    await mediaStack.producer.upsert(
      await Promise.all(
        PHOTOS.map(async (photo) => ({
          id: opaque(photo),
          title: opaque(photo),
          media: { type: 'image/jpeg', data: (await readFile(new URL(`photos/${photo}.jpg`, FIXTURES))).toString('base64') },
        })),
      ),
    );
    await waitFor(
      'the six photos to be indexed',
      async () => ((await h.qdrant.count(h.topology.qdrant.alias, { exact: true })).count >= PHOTOS.length ? true : undefined),
      300_000,
      250,
    );
  });

  after(async () => {
    try {
      await mediaStack?.close();
    } finally {
      await h?.close();
    }
  });

  const search = async (text: string, mode?: SearchMode): Promise<SearchHit[]> =>
    (await mediaStack.query.client.search({ text, topK: 3, ...(mode ? { mode } : {}) })).hits;

  it('stores the labels with the photo and indexes them as its text, marked as such', async () => {
    const [point] = await h.qdrant.retrieve(h.topology.qdrant.alias, {
      ids: [pointId(DEFAULT_TENANT, opaque('ladybird'), 0)],
      with_payload: true,
    });
    const payload = point?.payload as { text: string; text_source?: string; media?: { labels?: { name: string; score: number }[] } };
    assert.equal(payload.media?.labels?.[0]?.name, 'ladybug', JSON.stringify(payload.media?.labels));
    assert.ok(payload.media.labels.every((l) => l.score >= 0.1 && l.score <= 1));
    assert.equal(payload.text_source, 'labels');
    assert.match(payload.text, /^img-02\.jpg\n\nladybug, ladybeetle, lady beetle, ladybird, ladybird beetle: /);
  });

  for (const mode of ['dense', 'sparse', 'hybrid'] as const) {
    it(`finds the ladybird photo first for "a ladybird on a leaf" in ${mode} mode, saying it matched by its labels`, async () => {
      const [top] = await search('a ladybird on a leaf', mode);
      assert.equal(top?.docId, opaque('ladybird'), JSON.stringify(top));
      assert.equal(top.textSource, 'labels');
      assert.equal(top.media?.labels?.[0]?.name, 'ladybug');
    });
  }

  it('finds the other photos by what is in them', async () => {
    const expectations: Array<[string, string]> = [
      ['paint brushes', 'paintbrushes'],
      ['a daisy', 'yellow-flower'],
      ['spaniels', 'dogs'],
      ['mountain peaks in the alps', 'mountain'],
    ];
    for (const [query, photo] of expectations) {
      const hits = await search(query);
      assert.equal(hits[0]?.docId, opaque(photo), `${query}: ${JSON.stringify(hits.map((h) => [h.docId, h.media?.labels]))}`);
    }
  });

  it('searchbus status shows the media group beside the text and query groups, with its lag', async () => {
    const env = {
      ...process.env,
      ...h.env,
      KAFKA_BROKERS: h.services.kafka.brokers.join(','),
      REDIS_URL: h.services.redis.url,
      QDRANT_URL: h.services.qdrant.url,
    };
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'status', '--json'], { env });
    const status = JSON.parse(stdout) as { groups: Array<{ groupId: string; members: number; lag: number | null }> };
    const media = status.groups.find((g) => g.groupId === h.topology.groups.mediaEncoder);
    assert.deepEqual(
      status.groups.map((g) => g.groupId),
      [h.topology.groups.encoder, h.topology.groups.mediaEncoder, h.topology.groups.query],
    );
    assert.ok(media && media.members >= 1, JSON.stringify(media));
    assert.equal(media.lag, 0, 'the six photos are indexed, so the media group has caught up');
  });
});
