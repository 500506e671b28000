import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Consumer } from 'kafkajs';
import { fileDocument, listFiles, type FolderRecord } from '../../producers/ingest/index.ts';
import { DEFAULT_TENANT, HEADERS, pointId, VECTOR_NAMES } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { MEDIA_FIXTURES as FIXTURES, transformedPhoto } from '../support/media-queries.ts';
import { startMediaStack, type MediaStack } from '../support/media-stack.ts';
import type { QueryStack } from '../support/query-stack.ts';
import { makeVideoFixture, SCENE_SECONDS, VIDEO_SCENES } from '../support/video-fixture.ts';

// A video through the bus on the real services and models: its frames, sampled by ffmpeg, are
// image vectors with their times, its audio track an audio vector; a frame query finds the video at
// the moment that frame is on screen, a spoken phrase finds it by its soundtrack.
// Below the video: it travels by file:// uri (the claim check).
const INLINE_MAX_BYTES = 60_000;

describe('video', () => {
  let h: Harness;
  let mediaStack: MediaStack;
  let producer: MediaStack['producer'];
  let stack: QueryStack;
  let folder: string;
  let records: FolderRecord[];

  before(async () => {
    h = await createHarness({
      env: { SEARCHBUS_MEDIA_INLINE_MAX_BYTES: String(INLINE_MAX_BYTES), SEARCHBUS_MEDIA_VIDEO_FRAME_INTERVAL_MS: '1000' },
    });
    // The fixtures folder is a file root too: the soundtrack query reads a fixture by uri. Frames
    // are sampled as the settings above say; no image here holds text, so OCR is off.
    mediaStack = await startMediaStack(h, { extraFileRoots: [fileURLToPath(FIXTURES)], ocr: false });
    ({ producer, query: stack } = mediaStack);

    // The video, and distractors: photos not in it, recordings of other phrases.
    folder = await mkdtemp(join(tmpdir(), 'searchbus-video-'));
    await mkdir(join(folder, 'photos'));
    await mkdir(join(folder, 'speech'));
    await makeVideoFixture(join(folder, 'holiday.mp4'));
    for (const photo of ['dogs', 'stream'])
      await copyFile(new URL(`photos/${photo}.jpg`, FIXTURES), join(folder, 'photos', `${photo}.jpg`));
    for (const phrase of [2, 3])
      await copyFile(new URL(`speech/phrase${phrase}-voice1.wav`, FIXTURES), join(folder, 'speech', `phrase${phrase}.wav`));
  });

  after(async () => {
    try {
      await mediaStack?.close();
    } finally {
      await h?.close();
      if (folder) await rm(folder, { recursive: true, force: true });
    }
  });

  it('ingests a video from a folder: one point per sampled frame, with its time, the audio track on the first', async () => {
    records = await Promise.all(
      (await listFiles(folder)).map((file) => fileDocument(folder, file, { mediaInlineMaxBytes: INLINE_MAX_BYTES })),
    );
    assert.deepEqual(records.map((r) => r.kind).sort(), ['audio', 'audio', 'image', 'image', 'video']);
    const video = records.find((r) => r.kind === 'video');
    assert.ok(
      video && video.kind !== 'skipped' && video.document.media?.type === 'video/mp4' && video.document.media.uri?.startsWith('file://'),
      'the video goes by uri',
    );
    await producer.upsert(records.flatMap((r) => (r.kind === 'skipped' ? [] : [r.document])));

    const frames = SCENE_SECONDS * VIDEO_SCENES.length;
    const first = pointId(DEFAULT_TENANT, 'holiday.mp4', 0);
    await waitFor(
      'the video and the distractors indexed',
      async () => ((await h.qdrant.count(h.topology.qdrant.alias, { exact: true })).count >= frames + 4 ? true : undefined),
      600_000,
      500,
    );
    const { points } = await h.qdrant.scroll(h.topology.qdrant.alias, {
      filter: { must: [{ key: 'doc_id', match: { value: 'holiday.mp4' } }] },
      limit: 100,
      with_payload: true,
      with_vector: true,
    });
    const moments = points
      .map((p) => ({
        id: String(p.id),
        payload: p.payload as { chunk: number; chunks: number; media: { modality: string; at: number; model: string } },
        vector: p.vector as Record<string, number[]>,
      }))
      .sort((a, b) => a.payload.chunk - b.payload.chunk);
    assert.deepEqual(
      moments.map((m) => m.payload.media.at),
      [0, 1, 2, 3, 4, 5],
    );
    assert.ok(
      moments.every(
        (m) => m.payload.chunks === frames && m.payload.media.modality === 'video' && m.vector[VECTOR_NAMES.image]?.length === 1280,
      ),
    );
    assert.equal(moments[0]!.id, first);
    assert.equal(moments[0]!.vector[VECTOR_NAMES.audio]?.length, 96, 'the audio track (one segment: 6 s) sits on the first moment');
    assert.ok(moments.slice(1).every((m) => !(VECTOR_NAMES.audio in m.vector)));
    assert.ok(VECTOR_NAMES.text in moments[0]!.vector, 'the title is searchable as text');
  });

  it('finds the video from a frame at the moment that frame is on screen', async () => {
    for (const [scene, photo] of VIDEO_SCENES.entries()) {
      const result = await stack.client.search({ image: { type: 'image/jpeg', data: await transformedPhoto(photo) }, topK: 3 });
      const [top] = result.hits;
      assert.equal(top?.docId, 'holiday.mp4', JSON.stringify(result.hits));
      assert.equal(top.media?.modality, 'video');
      const at = top.media?.at ?? -1;
      assert.ok(
        at >= scene * SCENE_SECONDS && at < (scene + 1) * SCENE_SECONDS,
        `${photo} is on screen from ${scene * SCENE_SECONDS} s; the hit says ${at} s`,
      );
    }
    // A photo that is not in the video finds itself, not the video.
    const other = await stack.client.search({ image: { type: 'image/jpeg', data: await transformedPhoto('dogs') }, topK: 1 });
    assert.equal(other.hits[0]?.docId, 'photos/dogs.jpg');
  });

  it('finds the video by its soundtrack: the same phrase in another voice', async () => {
    const result = await stack.client.search({
      audio: { type: 'audio/wav', uri: new URL('speech/phrase1-voice2.wav', FIXTURES).href },
      topK: 3,
    });
    assert.equal(result.hits[0]?.docId, 'holiday.mp4', JSON.stringify(result.hits.map((hit) => [hit.docId, hit.score])));
    assert.equal(result.hits[0]?.media?.at, 0);
  });

  it('dead-letters a file that claims to be a video and is not, with its reason', async () => {
    const dlq: Consumer = h.kafka.consumer({ groupId: `${h.namespace}.dlq-reader` });
    const letters: Array<{ key: string; code: string; reason: string }> = [];
    await dlq.connect();
    try {
      await dlq.subscribe({ topic: h.topology.topics.deadLetter, fromBeginning: true });
      await dlq.run({
        eachMessage: ({ message }) => {
          const header = (name: string): string => message.headers?.[name]?.toString() ?? '';
          letters.push({ key: message.key?.toString() ?? '', code: header(HEADERS.errorCode), reason: header(HEADERS.errorMessage) });
          return Promise.resolve();
        },
      });
      await producer.upsert([{ id: 'fake.mp4', media: { type: 'video/mp4', data: Buffer.from('not a video').toString('base64') } }]);
      const letter = await waitFor(
        'the bad video dead-lettered',
        () => Promise.resolve(letters.find((l) => l.key === `${DEFAULT_TENANT}/fake.mp4`)),
        120_000,
        250,
      );
      assert.equal(letter.code, 'media-undecodable');
      assert.match(letter.reason, /fake\.mp4: ffprobe could not read the video/);
    } finally {
      await dlq.disconnect();
    }
  });
});
