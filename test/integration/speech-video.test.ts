import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SearchHit } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { payloadsOf, spokenWav, talkingVideo } from '../support/speech-fixtures.ts';
import { startMediaStack, type MediaStack } from '../support/media-stack.ts';

// A video found by what is said in it, on real Kafka, Redis, the Qdrant engine, the real text model
// and Moonshine tiny: a photo held on screen over a soundtrack espeak-ng speaks here (two sentences,
// the first after two seconds of silence), muxed by ffmpeg into an MP4. A text query for one sentence
// finds the video, its best chunk that sentence with its times; a video without an audio track is
// indexed from its frames alone, as before.
const PHOTO = fileURLToPath(new URL('../fixtures/media/photos/mountain.jpg', import.meta.url));
const SENTENCES = ['The fish twisted and turned on the bent hook.', 'Press the pants and sew a button on the vest.'] as const;
const LEAD_SECONDS = 2;

describe('speech to text: a video found by what is said in it', () => {
  let h: Harness;
  let mediaStack: MediaStack;
  let work: string;
  const id = (name: string): string => `speech-video-${name}-${h.namespace}.mp4`;

  before(async () => {
    h = await createHarness({ env: { SEARCHBUS_SPEECH_TO_TEXT: 'true', SEARCHBUS_SPEECH_MODEL: 'tiny' } });
    mediaStack = await startMediaStack(h, { ocr: false });
    work = mkdtempSync(join(tmpdir(), 'searchbus-speech-video-'));
    const talk = talkingVideo(work, 'talk.mp4', PHOTO, spokenWav(work, 'soundtrack', SENTENCES, LEAD_SECONDS));
    const silent = talkingVideo(work, 'silent.mp4', PHOTO, null);
    await mediaStack.producer.upsert([
      { id: id('talk'), media: { type: 'video/mp4', data: talk.toString('base64') } },
      { id: id('silent'), media: { type: 'video/mp4', data: silent.toString('base64') } },
      // A distractor with words of its own, so the query has something else to find.
      { id: `fishing-notes-${h.namespace}`, title: 'Fishing notes', text: 'Lures, lines and the weather on the lake last spring.' },
    ]);
  });

  after(async () => {
    try {
      await mediaStack?.close();
    } finally {
      await h?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    }
  });

  it('indexes the soundtrack as one text chunk per sentence, with start_ms and end_ms, beside the frames', async () => {
    const payloads = await waitFor(
      'the talking video transcribed and indexed',
      async () => {
        const found = await payloadsOf(h, id('talk'));
        return found.some((p) => p.text_source === 'transcript') ? found : undefined;
      },
      600_000,
      500,
    );
    const spoken = payloads
      .filter((p) => p.text_source === 'transcript')
      .sort((a, b) => Number(a.chunk) - Number(b.chunk))
      .map((p) => ({ start: Number(p.start_ms), end: Number(p.end_ms), text: String(p.text) }));
    assert.equal(spoken.length, 2, JSON.stringify(spoken));
    // The first sentence starts after the lead silence, less the segments' padding.
    assert.ok(spoken[0]!.start >= LEAD_SECONDS * 1000 - 500 && spoken[0]!.end > spoken[0]!.start, JSON.stringify(spoken));
    assert.ok(spoken[1]!.start >= spoken[0]!.end, JSON.stringify(spoken));
    assert.match(spoken[0]!.text, /fish/i);
    assert.ok(
      payloads.every((p) => (p.media as { modality?: string }).modality === 'video'),
      'every point is the video',
    );
  });

  it('a text query for a sentence finds the video, at the time it is said', async () => {
    const cases = [
      { query: 'a fish turning on a bent hook', sentence: 0 },
      { query: 'sew a button on the vest', sentence: 1 },
    ];
    for (const { query, sentence } of cases) {
      const hits: SearchHit[] = (await mediaStack.query.client.search({ text: query, topK: 3 })).hits;
      const show = JSON.stringify(hits.map((hit) => [hit.docId, hit.chunk, hit.snippet, hit.startMs, hit.score.toFixed(3)]));
      assert.equal(hits[0]?.docId, id('talk'), `${query}: ${show}`);
      assert.equal(hits[0].textSource, 'transcript', `${query}: ${show}`);
      assert.equal(hits[0].media?.modality, 'video');
      const spoken = (await payloadsOf(h, id('talk')))
        .filter((p) => p.text_source === 'transcript')
        .sort((a, b) => Number(a.start_ms) - Number(b.start_ms));
      assert.deepEqual([hits[0].startMs, hits[0].endMs], [spoken[sentence]!.start_ms, spoken[sentence]!.end_ms], `${query}: ${show}`);
    }
  });

  it('indexes a video without an audio track from its frames, with no transcript', async () => {
    const payloads = await waitFor(
      'the silent video indexed',
      async () => {
        const found = await payloadsOf(h, id('silent'));
        return found.length > 0 ? found : undefined;
      },
      600_000,
      500,
    );
    // Three seconds at a frame a second (the default interval): one point per frame, none with text.
    assert.equal(payloads.length, 3, JSON.stringify(payloads));
    assert.ok(payloads.every((p) => p.text === '' && p.text_source === undefined && p.start_ms === undefined));
  });
});
