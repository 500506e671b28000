import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Consumer } from 'kafkajs';
import { fileDocument, listFiles, type FolderRecord } from '../../producers/ingest/index.ts';
import { startGateway } from '../../infra/gateway/index.ts';
import { DEFAULT_TENANT, documentKey, RejectedError, HEADERS, pointId, VECTOR_NAMES } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { MEDIA_FIXTURES as FIXTURES, otherVoiceOgg, transformedPhoto } from '../support/media-queries.ts';
import { startMediaStack, type MediaStack } from '../support/media-stack.ts';
import type { QueryStack } from '../support/query-stack.ts';

// Images and audio through the bus on real Kafka, Redis, the Qdrant engine and the real models:
// a folder of photos, recordings and text; queries by example; updates, tombstones, poison media.
const PHOTOS = ['dogs', 'ladybird', 'mountain', 'paintbrushes', 'stream', 'yellow-flower'];
// Below the larger photos and every recording: those travel by file:// uri (the claim check).
const INLINE_MAX_BYTES = 60_000;
// Inside a file root (the temp directory) but absent: unreachable, not forbidden.
const MISSING_UNDER_ROOTS = pathToFileURL(join(tmpdir(), `searchbus-absent-${randomUUID()}`, 'recording.wav')).href;

describe('media pipeline', () => {
  let h: Harness;
  let mediaStack: MediaStack;
  let producer: MediaStack['producer'];
  let stack: QueryStack;
  let folder: string;
  let records: FolderRecord[];

  before(async () => {
    h = await createHarness({ env: { SEARCHBUS_MEDIA_INLINE_MAX_BYTES: String(INLINE_MAX_BYTES) } });
    // The clone may live anywhere: its fixtures are a root besides the defaults (home, temp). These
    // photos hold no text, so OCR is off (the documents test runs it).
    mediaStack = await startMediaStack(h, { extraFileRoots: [fileURLToPath(FIXTURES)], ocr: false });
    ({ producer, query: stack } = mediaStack);

    folder = await mkdtemp(join(tmpdir(), 'searchbus-media-'));
    await mkdir(join(folder, 'photos'));
    await mkdir(join(folder, 'speech'));
    for (const photo of PHOTOS) await copyFile(new URL(`photos/${photo}.jpg`, FIXTURES), join(folder, 'photos', `${photo}.jpg`));
    for (const phrase of [1, 2, 3])
      await copyFile(new URL(`speech/phrase${phrase}-voice1.wav`, FIXTURES), join(folder, 'speech', `phrase${phrase}.wav`));
    await writeFile(join(folder, 'notes.md'), '# Garden notes\nWater the tomatoes every morning and mulch the beds.');
    await writeFile(join(folder, 'stars.txt'), 'A supernova is the explosion of a massive star at the end of its life.');
    await writeFile(join(folder, 'movie.mkv'), 'not really a film');
  });

  after(async () => {
    try {
      await mediaStack?.close();
    } finally {
      await h?.close();
      if (folder) await rm(folder, { recursive: true, force: true });
    }
  });

  const alias = (): string => h.topology.qdrant.alias;
  const point = async (id: string): Promise<{ payload: Record<string, unknown>; vector: Record<string, unknown> } | undefined> => {
    const [p] = await h.qdrant.retrieve(alias(), { ids: [pointId(DEFAULT_TENANT, id, 0)], with_payload: true, with_vector: true });
    return p ? { payload: p.payload as Record<string, unknown>, vector: p.vector as Record<string, unknown> } : undefined;
  };
  const base64 = async (url: URL): Promise<string> => (await readFile(url)).toString('base64');

  it('ingests a folder of photos, recordings and text: each point carries the vectors its content has', async () => {
    records = await Promise.all(
      (await listFiles(folder)).map((file) => fileDocument(folder, file, { mediaInlineMaxBytes: INLINE_MAX_BYTES })),
    );
    const kinds = records.map((r) => r.kind).sort();
    assert.deepEqual(kinds, ['audio', 'audio', 'audio', 'image', 'image', 'image', 'image', 'image', 'image', 'skipped', 'text', 'text']);
    const skipped = records.find((r) => r.kind === 'skipped');
    assert.ok(
      skipped && skipped.kind === 'skipped' && /\.mkv: not a supported type/.test(skipped.reason),
      'the unknown type is skipped with a reason',
    );
    const documents = records.flatMap((r) => (r.kind === 'skipped' ? [] : [r.document]));
    const byUri = documents.filter((d) => d.media?.uri !== undefined).map((d) => d.id);
    assert.ok(byUri.includes('photos/stream.jpg') && byUri.includes('speech/phrase1.wav'), `large media go by uri: ${byUri.join(', ')}`);
    assert.ok(
      documents.some((d) => d.media?.data !== undefined),
      'small media go inline',
    );
    await producer.upsert(documents);

    await waitFor(
      'every file indexed',
      async () => ((await h.qdrant.count(alias(), { exact: true })).count >= documents.length ? true : undefined),
      600_000,
      500,
    );
    const photo = await point('photos/ladybird.jpg');
    assert.deepEqual(
      Object.keys(photo!.vector).sort(),
      [VECTOR_NAMES.image, VECTOR_NAMES.text, ...Object.keys(photo!.vector).filter((k) => k.startsWith('text-bm25-'))].sort(),
    );
    assert.equal((photo!.vector[VECTOR_NAMES.image] as number[]).length, 1280);
    const { thumbnail, labels, ...medium } = photo!.payload.media as { thumbnail?: string; labels?: { name: string }[] };
    assert.deepEqual(medium, { type: 'image/jpeg', modality: 'image', model: 'efficientnet-lite0' });
    assert.equal(labels?.[0]?.name, 'ladybug', 'what the image model saw in the photo');
    assert.match(String(thumbnail), /^data:image\/webp;base64,/, 'a photo keeps a small preview for result lists');
    const recording = await point('speech/phrase1.wav');
    assert.equal((recording!.vector[VECTOR_NAMES.audio] as number[]).length, 96);
    assert.match(String((recording!.payload.media as { uri?: string }).uri), /^file:\/\/.*phrase1\.wav$/);
    const note = await point('notes.md');
    assert.ok(!(VECTOR_NAMES.image in note!.vector) && !(VECTOR_NAMES.audio in note!.vector), 'a text file has no media vectors');
  });

  it('finds a photo first from a transformed copy of it (crop, flip, JPEG quality 40)', async () => {
    const copy = await transformedPhoto('ladybird');
    const result = await stack.client.search({ image: { type: 'image/jpeg', data: copy }, topK: 3 });
    assert.equal(result.hits[0]?.docId, 'photos/ladybird.jpg', JSON.stringify(result.hits.map((hit) => [hit.docId, hit.score])));
    assert.ok(
      result.hits.every((hit) => hit.media?.modality === 'image'),
      'an image query finds only images',
    );
    assert.equal(result.mode, 'dense');
    // Tenant isolation holds for queries by example: another tenant sees none of these photos.
    const other = await stack.client.search({ image: { data: copy }, topK: 3, tenant: 'someone-else' });
    assert.deepEqual(other.hits, []);
    // And filters apply: a metadata condition nothing matches leaves nothing.
    const filtered = await stack.client.search({
      image: { data: copy },
      topK: 3,
      filter: { must: [{ key: 'album', match: { value: 'none' } }] },
    });
    assert.deepEqual(filtered.hits, []);
  });

  it('finds a recording first from the same phrase in another voice, inline or by uri', async () => {
    for (const phrase of [1, 2, 3]) {
      const inline = await stack.client.search({ audio: { type: 'audio/ogg', data: await otherVoiceOgg(phrase) }, topK: 3 });
      assert.equal(inline.hits[0]?.docId, `speech/phrase${phrase}.wav`, JSON.stringify(inline.hits.map((hit) => [hit.docId, hit.score])));
    }
    const byUri = await stack.client.search({ audio: { uri: new URL('speech/phrase3-voice2.wav', FIXTURES).href }, topK: 1 });
    assert.equal(byUri.hits[0]?.docId, 'speech/phrase3.wav');
  });

  it('serves queries by example on the gateway: POST /search with a JSON body', async () => {
    const gateway = await startGateway({
      searcher: stack.client,
      port: 0,
      host: '127.0.0.1',
      limits: { maxBodyBytes: 1024 * 1024, maxUrlBytes: 8192 },
    });
    try {
      const post = async (
        body: unknown,
      ): Promise<{ status: number; json: { hits?: Array<{ docId: string }>; error?: { code: string } } }> => {
        const response = await fetch(`http://127.0.0.1:${gateway.port}/search`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: response.status, json: (await response.json()) as { hits?: Array<{ docId: string }>; error?: { code: string } } };
      };
      const found = await post({ image: { type: 'image/jpeg', data: await base64(new URL('photos/paintbrushes.jpg', FIXTURES)) }, k: 2 });
      assert.equal(found.status, 200);
      assert.equal(found.json.hits?.[0]?.docId, 'photos/paintbrushes.jpg', JSON.stringify(found.json));
      const byUri = await post({ image: { uri: 'file:///etc/passwd' } });
      assert.equal(byUri.status, 400, 'no uri through the gateway');
      const broken = await post({ audio: { data: Buffer.from('not audio').toString('base64') } });
      assert.deepEqual([broken.status, broken.json.error?.code], [400, 'invalid-media']);
    } finally {
      await gateway.close();
    }
  });

  it('answers a bad query by example with an error, never a timeout', async () => {
    const expectError = async (query: Parameters<typeof stack.client.search>[0], code: string, pattern: RegExp): Promise<void> => {
      await assert.rejects(
        stack.client.search(query),
        (error: unknown) => error instanceof RejectedError && error.code === code && pattern.test(error.message),
      );
    };
    await expectError(
      { image: { data: Buffer.from('this is not an image').toString('base64') }, topK: 3 },
      'invalid-media',
      /query\.image/,
    );
    await expectError({ audio: { uri: MISSING_UNDER_ROOTS }, topK: 3 }, 'invalid-media', /cannot read/);
    await expectError({ image: { uri: 'file:///etc/hostname' }, topK: 3 }, 'invalid-media', /outside SEARCHBUS_MEDIA_FILE_ROOTS/);
    await expectError({ image: { type: 'text/plain', data: 'aGVsbG8=' }, topK: 3 }, 'invalid-request', /not supported/);
    await expectError({ image: { data: 'A'.repeat(4 * 20_100) }, topK: 3 }, 'invalid-request', /limited to 60000 bytes/);
  });

  it('updates and deletes media documents, across the text and media groups, in publication order', async () => {
    const id = 'photos/dogs.jpg';
    // A new version with another photo (media group), then as text only (text group), then gone.
    await producer.upsert([
      {
        id,
        title: 'now a flower',
        media: { type: 'image/jpeg', data: await base64(new URL('photos/yellow-flower.jpg', FIXTURES)) },
        metadata: { version: 2 },
      },
    ]);
    await waitFor(
      'the new photo replaces the old',
      async () => ((await point(id))?.payload.metadata as { version?: number } | undefined)?.version === 2 || undefined,
    );
    await producer.upsert([{ id, title: 'dogs, described', text: 'Two dogs run across a meadow.', metadata: { version: 3 } }]);
    const textual = await waitFor('the text version replaces the photo', async () => {
      const p = await point(id);
      return (p?.payload.metadata as { version?: number } | undefined)?.version === 3 ? p : undefined;
    });
    assert.ok(!(VECTOR_NAMES.image in textual.vector), 'the text version has no image vector');
    assert.equal(textual.payload.media, undefined);
    await producer.delete([{ id }]);
    await waitFor('the tombstone deletes it', async () => ((await point(id)) === undefined ? true : undefined));
    const result = await stack.client.search({ image: { data: await base64(new URL('photos/dogs.jpg', FIXTURES)) }, topK: 10 });
    assert.ok(!result.hits.some((hit) => hit.docId === id), 'a deleted photo is never found');
  });

  it('dead-letters undecodable, unreachable, forbidden and unsupported media with their reason and moves on', async () => {
    const dlq: Consumer = h.kafka.consumer({ groupId: `${h.namespace}.dlq-reader` });
    const letters: Array<{ key: string; code: string; reason: string }> = [];
    await dlq.connect();
    await dlq.subscribe({ topic: h.topology.topics.deadLetter, fromBeginning: true });
    await dlq.run({
      eachMessage: ({ message }) => {
        const header = (name: string): string => message.headers?.[name]?.toString() ?? '';
        letters.push({ key: message.key?.toString() ?? '', code: header(HEADERS.errorCode), reason: header(HEADERS.errorMessage) });
        return Promise.resolve();
      },
    });
    try {
      // Each poison under its own key: within a batch only a document's latest version counts, as after compaction.
      const poison = (n: number, media: unknown): { key: string; value: string } => ({
        key: documentKey(DEFAULT_TENANT, `poison-${n}`),
        value: JSON.stringify({ schemaVersion: 1, id: `poison-${n}`, media }),
      });
      await producer.sendRaw([
        poison(1, { type: 'image/png', data: Buffer.from('not a png at all').toString('base64') }),
        poison(2, { type: 'audio/wav', uri: MISSING_UNDER_ROOTS }),
        poison(5, { type: 'image/jpeg', uri: 'file:///etc/hostname' }),
        // The cloud metadata service (SSRF): link-local, refused by the default settings before any connection.
        poison(6, { type: 'image/jpeg', uri: 'http://169.254.169.254/latest/meta-data/photo.jpg' }),
        poison(3, { type: 'video/x-matroska', data: 'AAAA' }),
        poison(4, { type: 'image/jpeg', data: 'A'.repeat(4 * 20_100) }),
        {
          key: documentKey(DEFAULT_TENANT, 'after-poison'),
          value: JSON.stringify({
            schemaVersion: 1,
            id: 'after-poison',
            media: { type: 'image/jpeg', data: await base64(new URL('photos/ladybird.jpg', FIXTURES)) },
          }),
        },
      ]);
      await waitFor(
        'the good medium after the poison is indexed',
        async () => ((await point('after-poison'))?.payload.media ? true : undefined),
        300_000,
        500,
      );
      await waitFor('six dead letters', () => Promise.resolve(letters.length >= 6 ? true : undefined), 300_000, 500);
      assert.equal(letters.length, 6, `each poison dead-lettered once: ${JSON.stringify(letters)}`);
      assert.deepEqual(Object.fromEntries(letters.map((l) => [l.key, l.code])), {
        'default/poison-1': 'media-undecodable',
        'default/poison-2': 'media-unreachable',
        'default/poison-3': 'unsupported-media-type',
        'default/poison-4': 'media-too-large',
        'default/poison-5': 'media-forbidden',
        'default/poison-6': 'media-forbidden',
      });
      const reason = (n: number): string => letters.find((l) => l.key === documentKey(DEFAULT_TENANT, `poison-${n}`))!.reason;
      assert.match(reason(5), /file:\/\/\/etc\/hostname is outside SEARCHBUS_MEDIA_FILE_ROOTS/);
      assert.match(
        reason(6),
        /169\.254\.169\.254 is a loopback, private, link-local or reserved address, outside SEARCHBUS_MEDIA_URL_ALLOW_NETWORKS/,
      );
      for (const n of [1, 2, 3, 4, 5, 6]) assert.equal(await point(`poison-${n}`), undefined, 'no poison was written');
      // Fixed and published again, a dead-lettered document is indexed.
      await producer.upsert([{ id: 'poison-2', media: { type: 'audio/wav', uri: new URL('speech/phrase1-voice1.wav', FIXTURES).href } }]);
      await waitFor(
        'the fixed document is indexed',
        async () => ((await point('poison-2'))?.payload.media ? true : undefined),
        300_000,
        500,
      );
      assert.ok(reason(2).includes(MISSING_UNDER_ROOTS), 'the reason names the uri');
    } finally {
      await dlq.disconnect();
    }
  });
});
