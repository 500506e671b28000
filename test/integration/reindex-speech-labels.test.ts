import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { getModelSpec, type SearchHit } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { MEDIA_FIXTURES as FIXTURES } from '../support/media-queries.ts';
import { jobEnded, startReindexStack, type ReindexStack } from '../support/reindex-stack.ts';
import { payloadsOf, spokenWav, talkingVideo } from '../support/speech-fixtures.ts';

// A rebuild keeps what was read from media, on the real services and models (Moonshine tiny,
// EfficientNet-Lite0): a recording's transcript, a video's soundtrack and a photo's labels are
// recomputed into the new collection by its text model, so after the swap the same text queries
// find them, with the time of what was said and the label that matched.
const FP32 = 'all-minilm-l6-v2';
const INT8 = 'all-minilm-l6-v2-q';
const RECORDING = ['The stale smell of old beer lingers.', 'Rice is often served in round bowls.'] as const;
const SOUNDTRACK = ['The swan dive was far short of perfect.'] as const;

describe('a rebuild keeps transcripts and labels', () => {
  let h: Harness;
  let fp32: OnnxEncoder;
  let int8: OnnxEncoder;
  let stack: ReindexStack;
  let producer: IngestProducer;
  let work: string;
  const id = (name: string): string => `${name}-${h.namespace}`;

  before(async () => {
    h = await createHarness({
      env: {
        SEARCHBUS_SPEECH_TO_TEXT: 'true',
        SEARCHBUS_SPEECH_MODEL: 'tiny',
        SEARCHBUS_OCR_IMAGES: 'false',
        SEARCHBUS_REINDEX_GRACE_MS: '3000',
        SEARCHBUS_QUERY_ALIAS_CACHE_TTL_MS: '500',
      },
    });
    [fp32, int8] = await Promise.all([loadEncoder(getModelSpec(FP32)), loadEncoder(getModelSpec(INT8))]);
    stack = await startReindexStack(h, [fp32, int8], { queryTimeoutMs: 60_000 });
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    work = mkdtempSync(join(tmpdir(), 'searchbus-reindex-speech-'));
    const wav = readFileSync(spokenWav(work, 'recording', RECORDING, 1));
    const photo = readFileSync(new URL('photos/ladybird.jpg', FIXTURES));
    const mountain = fileURLToPath(new URL('photos/mountain.jpg', FIXTURES));
    const video = talkingVideo(work, 'dive.mp4', mountain, spokenWav(work, 'soundtrack', SOUNDTRACK, 2));
    // Names that say nothing: only what was said, or what is in the photo, can find them.
    await producer.upsert([
      { id: id('rec-01.wav'), media: { type: 'audio/wav', data: wav.toString('base64') } },
      { id: id('img-02.jpg'), title: 'img-02.jpg', media: { type: 'image/jpeg', data: photo.toString('base64') } },
      { id: id('vid-03.mp4'), media: { type: 'video/mp4', data: video.toString('base64') } },
      { id: id('notes.txt'), title: 'Garden notes', text: 'Beetles and aphids on the roses after the rain.' },
    ]);
    await waitFor(
      'the recording, the photo, the video and the note indexed',
      async () => {
        const indexed = await Promise.all(['rec-01.wav', 'img-02.jpg', 'vid-03.mp4', 'notes.txt'].map((n) => payloadsOf(h, id(n))));
        return indexed.every((p) => p.length > 0) && indexed[0]!.length >= 2 ? true : undefined;
      },
      600_000,
      500,
    );
  });

  after(async () => {
    try {
      await producer?.close();
      await stack?.close();
      await Promise.all([fp32?.close(), int8?.close()]);
    } finally {
      await h?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    }
  });

  /** Each query's top hit, on the model the live collection holds. */
  const topHits = async (model: string): Promise<Record<string, SearchHit>> => {
    const queries = {
      beer: 'a smell of stale beer',
      rice: 'bowls of rice',
      swan: 'a swan dive that fell short',
      ladybird: 'a ladybird on a leaf',
    };
    const hits: Record<string, SearchHit> = {};
    for (const [name, text] of Object.entries(queries)) {
      const result = await stack.query.client.search({ text, topK: 3 });
      assert.equal(result.model, model, `${text}: answered by ${result.model}`);
      const top = result.hits[0];
      assert.ok(top, `${text}: no hit`);
      hits[name] = top;
    }
    return hits;
  };

  /** What the hits must say: the document, why it matched, and the time of what was said. */
  const assertFound = (hits: Record<string, SearchHit>, times: Record<string, [number, number]>): void => {
    const show = JSON.stringify(
      Object.entries(hits).map(([name, hit]) => [name, hit.docId, hit.textSource, hit.startMs, hit.media?.labels?.[0]?.name]),
    );
    assert.deepEqual(
      [hits.beer!.docId, hits.rice!.docId, hits.swan!.docId, hits.ladybird!.docId],
      [id('rec-01.wav'), id('rec-01.wav'), id('vid-03.mp4'), id('img-02.jpg')],
      show,
    );
    assert.deepEqual(
      [hits.beer!.textSource, hits.rice!.textSource, hits.swan!.textSource, hits.ladybird!.textSource],
      ['transcript', 'transcript', 'transcript', 'labels'],
      show,
    );
    for (const name of ['beer', 'rice', 'swan']) assert.deepEqual([hits[name]!.startMs, hits[name]!.endMs], times[name], show);
    assert.equal(hits.ladybird!.media?.labels?.[0]?.name, 'ladybug', show);
  };

  let heard: Record<string, [number, number]> = {};

  it('finds the recording and the video by what was said, with its time, and the photo by its label', async () => {
    const hits = await topHits(FP32);
    heard = Object.fromEntries(['beer', 'rice', 'swan'].map((name) => [name, [hits[name]!.startMs ?? -1, hits[name]!.endMs ?? -1]]));
    assertFound(hits, heard);
    // The second sentence of the recording starts after the first (the lead second, then a 1.5 s pause).
    assert.ok(heard.rice![0] > heard.beer![1], JSON.stringify(heard));
    assert.ok(heard.swan![0] >= 1500, JSON.stringify(heard));
  });

  it('after a rebuild to another text model, the same queries find the same moments and label', async () => {
    const { jobId } = await stack.queue.request({ modelId: INT8 });
    const job = await jobEnded(stack.queue, jobId);
    assert.equal(job.state, 'completed', job.failedReason ?? '');
    assert.equal(job.result?.unwritten, 0);
    // The query consumer follows the alias within its cache's 500 ms.
    const hits = await waitFor(
      'queries answered by the new collection',
      async () => {
        const result = await stack.query.client.search({ text: 'a smell of stale beer', topK: 1 });
        return result.model === INT8 ? topHits(INT8) : undefined;
      },
      60_000,
      250,
    );
    // Transcribed again by the rebuild, from the same audio with the same model: the same times.
    assertFound(hits, heard);
    const recording = await payloadsOf(h, id('rec-01.wav'));
    assert.ok(
      recording.every((p) => p.model === INT8),
      JSON.stringify(recording.map((p) => p.model)),
    );
  });
});
