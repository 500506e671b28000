import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, type MediaEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { ReindexQueue, ReindexWorker, type ReindexJobSummary } from '../../consumers/reindex/index.ts';
import { RedisWriteFences } from '../../consumers/runtime/index.ts';
import { createRedis } from '../../infra/index.ts';
import { fileDocument, IngestProducer, listFiles, type DocumentInput } from '../../producers/ingest/index.ts';
import { DEFAULT_TENANT, getModelSpec, pointId, VECTOR_NAMES } from '../../topology/index.ts';
import { pdfFile } from '../support/documents.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { otherVoiceOgg, transformedPhoto } from '../support/media-queries.ts';
import { testMediaEncoder } from '../support/media-stack.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';

// A rebuild carries media: it re-reads every medium (inline or from its claim-check uri), embeds it
// into the new collection's `image`/`audio` vectors (and extracts a document file's text again), and
// swaps with queries by example answered throughout. A medium it can no longer read makes it refuse the swap, so nothing the live index
// serves is lost by it.
const FIXTURES = new URL('../fixtures/media/', import.meta.url);
const PHOTOS = ['dogs', 'ladybird', 'mountain', 'paintbrushes', 'stream', 'yellow-flower'];
// Below the larger photos and every recording: those travel by file:// uri (the claim check).
const INLINE_MAX_BYTES = 60_000;
const FP32 = 'all-minilm-l6-v2';
const INT8 = 'all-minilm-l6-v2-q';

describe('re-indexing a collection that holds images, audio and a PDF', () => {
  let h: Harness;
  let fp32: OnnxEncoder;
  let int8: OnnxEncoder;
  let media: MediaEncoder;
  let consumers: EncoderConsumer[] = [];
  let stack: QueryStack;
  let worker: ReindexWorker;
  let queue: ReindexQueue;
  let redis: Redis;
  let producer: IngestProducer;
  let folder: string;
  let documents: DocumentInput[];

  const encoderFor = (modelId: string): Promise<ReturnType<typeof documentEncoder>> => {
    const encoder = [fp32, int8].find((e) => e.spec.id === modelId);
    return encoder ? Promise.resolve(documentEncoder(encoder)) : Promise.reject(new Error(`no encoder for ${modelId}`));
  };
  const liveCollection = async (): Promise<string | undefined> =>
    (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === h.topology.qdrant.alias)?.collection_name;
  const finished = (jobId: string): Promise<ReindexJobSummary> =>
    waitFor(
      `rebuild job ${jobId} to end`,
      async () => {
        const j = await queue.get(jobId);
        // The job and its state are two reads: wait until both say it ended.
        return (j?.state === 'completed' && j.result) || (j?.state === 'failed' && j.failedReason) ? j : undefined;
      },
      600_000,
      200,
    );
  const mediaPoints = async (collection: string, modality: 'image' | 'audio'): Promise<number> =>
    (await h.qdrant.count(collection, { exact: true, filter: { must: [{ key: 'media.modality', match: { value: modality } }] } })).count;

  before(async () => {
    h = await createHarness({
      env: {
        SEARCHBUS_REINDEX_GRACE_MS: '3000',
        SEARCHBUS_REINDEX_PROGRESS_INTERVAL_MS: '200',
        SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '500',
        SEARCHBUS_MEDIA_INLINE_MAX_BYTES: String(INLINE_MAX_BYTES),
      },
    });
    [fp32, int8] = await Promise.all([loadEncoder(getModelSpec(FP32)), loadEncoder(getModelSpec(INT8))]);
    // The fixtures folder is a file root too: a query reads a fixture by uri. No image here holds
    // text, so OCR is off.
    media = testMediaEncoder(h, { extraFileRoots: [fileURLToPath(FIXTURES)], ocr: false });
    redis = createRedis(h.services.redis, `test-${h.namespace}-reindex`);
    const fences = new RedisWriteFences(redis, h.topology);
    // As the encoder role runs them: a text group and a media group, both following the alias.
    consumers = (['text', 'media'] as const).map(
      (modality) =>
        new EncoderConsumer({
          kafka: h.kafka,
          qdrant: h.qdrant,
          topology: h.topology,
          config: h.config,
          encoder: encoderFor,
          modality,
          media,
          fences,
        }),
    );
    for (const consumer of consumers) await consumer.start();
    stack = await startQueryStack(h, [fp32, int8], { media, timeoutMs: 60_000 });
    worker = new ReindexWorker({
      connection: redis,
      redis,
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: encoderFor,
      media,
    });
    await worker.start();
    queue = new ReindexQueue({ connection: redis, redis, topology: h.topology, config: h.config });
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });

    folder = await mkdtemp(join(tmpdir(), 'searchbus-reindex-media-'));
    await mkdir(join(folder, 'photos'));
    await mkdir(join(folder, 'speech'));
    for (const photo of PHOTOS) await copyFile(new URL(`photos/${photo}.jpg`, FIXTURES), join(folder, 'photos', `${photo}.jpg`));
    for (const phrase of [1, 2, 3])
      await copyFile(new URL(`speech/phrase${phrase}-voice1.wav`, FIXTURES), join(folder, 'speech', `phrase${phrase}.wav`));
    await writeFile(join(folder, 'stars.txt'), 'A supernova is the explosion of a massive star at the end of its life.');
    // A document file: its text is extracted by the media group, and again by the rebuild.
    await writeFile(
      join(folder, 'tides.pdf'),
      pdfFile([['Harbour notes, volume one.'], ['The lighthouse keeper logged the spring tide at dawn.']]),
    );
    const records = await Promise.all(
      (await listFiles(folder)).map((file) => fileDocument(folder, file, { mediaInlineMaxBytes: INLINE_MAX_BYTES })),
    );
    documents = records.flatMap((r) => (r.kind === 'skipped' ? [] : [r.document]));
    await producer.upsert(documents);
    await waitFor(
      'every file indexed',
      async () => ((await h.qdrant.count(h.topology.qdrant.alias, { exact: true })).count >= documents.length ? true : undefined),
      600_000,
      500,
    );
  });

  after(async () => {
    await producer?.close();
    await queue?.queue.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await worker?.close();
    await stack?.close();
    for (const consumer of consumers) await consumer.close();
    redis?.disconnect();
    await media?.close();
    await Promise.all([fp32?.close(), int8?.close()]);
    await h?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('refuses to swap when a claim-check uri no longer reads, naming the document; the live index is untouched', async () => {
    const stream = documents.find((d) => d.id === 'photos/stream.jpg');
    assert.ok(stream?.media?.uri, 'the large photo travels by uri');
    const path = fileURLToPath(stream.media.uri);
    const live = await liveCollection();
    // The rebuild reads the uri again (it never copies the live vector): moved away, it cannot.
    await rename(path, `${path}.moved`);
    try {
      const { jobId } = await queue.request({ modelId: FP32 });
      const job = await finished(jobId);
      assert.equal(job.state, 'failed', 'the rebuild is refused');
      assert.match(job.failedReason ?? '', /lacks 1 document\(s\) that .* serves/, JSON.stringify({ ...job, data: undefined }));
      assert.match(
        job.failedReason ?? '',
        /default\/photos\/stream\.jpg \(media-unreachable: .*cannot read file:\/\/.*stream\.jpg: ENOENT\)/,
      );
      assert.equal(await liveCollection(), live, 'the alias still serves the live collection');
      // Its partial collection is discarded once the job failed for good.
      const target = job.progress?.target ?? '';
      assert.notEqual(target, '');
      await waitFor(`${target} removed`, async () => ((await h.qdrant.collectionExists(target)).exists ? undefined : true), 60_000, 200);
    } finally {
      await rename(`${path}.moved`, path);
    }
    const found = await stack.client.search({ image: { type: 'image/jpeg', uri: stream.media.uri }, topK: 1 });
    assert.equal(found.hits[0]?.docId, 'photos/stream.jpg', 'the live index still finds it');
  });

  it('rebuilds with another text model, media re-read and re-embedded, answering image and audio queries throughout with no failure', async () => {
    const previous = await liveCollection();
    assert.match(previous ?? '', /__all-minilm-l6-v2__v1$/);
    // Read before the swap: the previous collection is dropped after its grace period.
    const [oldStream] = await h.qdrant.retrieve(previous ?? '', {
      ids: [pointId(DEFAULT_TENANT, 'photos/stream.jpg', 0)],
      with_vector: true,
    });
    // A transformed copy of a photo (crop 70%, flip, JPEG q40) and a phrase in another voice.
    const [photo, speech] = await Promise.all([transformedPhoto('ladybird'), otherVoiceOgg(2)]);
    const queries = [
      { query: { image: { type: 'image/jpeg', data: photo }, topK: 3 }, want: 'photos/ladybird.jpg' },
      { query: { audio: { type: 'audio/ogg', data: speech }, topK: 3 }, want: 'speech/phrase2.wav' },
    ];

    const outcome = { searches: 0, afterSwap: 0, errors: [] as string[], wrong: [] as string[], models: new Set<string>() };
    let swapped = false;
    let running = true;
    const searching = (async () => {
      for (let i = 0; running; i++) {
        const { query, want } = queries[i % queries.length]!;
        try {
          const result = await stack.client.search(query);
          outcome.searches++;
          if (swapped) outcome.afterSwap++;
          outcome.models.add(result.model);
          if (result.hits[0]?.docId !== want)
            outcome.wrong.push(`${want}: ${JSON.stringify(result.hits.map((hit) => [hit.docId, hit.score]))}`);
        } catch (error) {
          outcome.errors.push((error as Error).message);
        }
      }
    })();

    const { jobId } = await queue.request({ modelId: INT8 });
    const job = await finished(jobId);
    assert.equal(job.state, 'completed', job.failedReason ?? '');
    swapped = true;
    // Enough searches after the swap to pass the query consumer's alias cache (500 ms) many times over.
    await waitFor(
      'searches on the new collection',
      () => Promise.resolve(outcome.afterSwap >= 10 && outcome.models.has(INT8) ? true : undefined),
      120_000,
      100,
    );
    running = false;
    await searching;

    process.stderr.write(
      `queries by example during the media rebuild: ${outcome.searches}, errors ${outcome.errors.length}, wrong top hit ${outcome.wrong.length}\n`,
    );
    assert.deepEqual(outcome.errors, [], 'no search failed');
    assert.deepEqual(outcome.wrong, [], 'every search found its photo or recording first');
    const target = job.result?.target ?? '';
    assert.match(target, /__all-minilm-l6-v2-q__v\d+$/);
    assert.equal(await liveCollection(), target);
    assert.equal(job.result?.unwritten, 0);

    // The new collection has the media vectors, filled from the media themselves.
    const info = await h.qdrant.getCollection(target);
    assert.deepEqual(Object.keys(info.config.params.vectors as object).sort(), [VECTOR_NAMES.audio, VECTOR_NAMES.image, VECTOR_NAMES.text]);
    assert.equal(await mediaPoints(target, 'image'), PHOTOS.length);
    assert.equal(await mediaPoints(target, 'audio'), 3);
    const [stream, recording] = await h.qdrant.retrieve(target, {
      ids: [pointId(DEFAULT_TENANT, 'photos/stream.jpg', 0), pointId(DEFAULT_TENANT, 'speech/phrase1.wav', 0)],
      with_payload: true,
      with_vector: true,
    });
    const vector = (p: typeof stream, name: string): number[] => (p?.vector as Record<string, number[]>)[name] ?? [];
    assert.equal(vector(stream, VECTOR_NAMES.image).length, 1280);
    // Re-embedded by the same image model from the same file: the same vector.
    const cosine = vector(stream, VECTOR_NAMES.image).reduce((s, x, i) => s + x * (vector(oldStream, VECTOR_NAMES.image)[i] ?? 0), 0);
    assert.ok(cosine > 0.9999, `the re-read photo embeds as before (cosine ${cosine})`);
    assert.equal(vector(recording, VECTOR_NAMES.audio).length, 96);
    assert.match(String((recording?.payload?.media as { uri?: string } | undefined)?.uri), /^file:\/\/.*phrase1\.wav$/);
    assert.equal((recording?.payload as { model?: string } | undefined)?.model, INT8);
    const text = await stack.client.search({ text: 'explosion of a massive star', topK: 1 });
    assert.equal(text.hits[0]?.docId, 'stars.txt');
    // The PDF's text was extracted again into the new collection, page kept.
    const pdf = await stack.client.search({ text: 'lighthouse keeper logged the spring tide', topK: 1 });
    assert.equal(pdf.model, INT8);
    assert.deepEqual([pdf.hits[0]?.docId, pdf.hits[0]?.page, pdf.hits[0]?.media?.modality], ['tides.pdf', 2, 'document']);
  });
});
