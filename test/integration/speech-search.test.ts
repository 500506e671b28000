import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TENANT, pointId, type SearchHit } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { payloadsOf, spokenWav } from '../support/speech-fixtures.ts';
import { startMediaStack, type MediaStack } from '../support/media-stack.ts';

// Recordings found by what is said in them, end to end on real Kafka, Redis, the Qdrant engine, the
// real text model and Moonshine tiny (SEARCHBUS_SPEECH_TO_TEXT=true): two recordings espeak-ng
// speaks here, with no title, among the demo corpus; a text query for a sentence of one finds that
// recording, and the hit (like its best chunk) carries the times of that sentence in the recording.
const SAMPLE_CORPUS = new URL('../../infra/demo/sample-corpus.jsonl', import.meta.url);
const RECORDINGS = {
  tavern: ['The stale smell of old beer lingers.', 'The juice of lemons makes fine punch.'],
  kitchen: ['Rice is often served in round bowls.', 'The wide road shimmered in the hot sun.'],
} as const;

describe('speech to text: recordings found by what is said in them', () => {
  let h: Harness;
  let mediaStack: MediaStack;
  let work: string;
  const id = (name: string): string => `speech-${name}-${h.namespace}.wav`;

  before(async () => {
    h = await createHarness({ env: { SEARCHBUS_SPEECH_TO_TEXT: 'true', SEARCHBUS_SPEECH_MODEL: 'tiny' } });
    assert.equal(h.config.media.speechToText, true);
    mediaStack = await startMediaStack(h, { ocr: false });
    work = mkdtempSync(join(tmpdir(), 'searchbus-speech-search-'));
    const corpus = (await readFile(SAMPLE_CORPUS, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; title: string; text: string });
    await mediaStack.producer.upsert(corpus.map((d) => ({ id: d.id, title: d.title, text: d.text })));
    await mediaStack.producer.upsert(
      Object.entries(RECORDINGS).map(([name, sentences]) => ({
        id: id(name),
        media: { type: 'audio/wav', data: readFileSync(spokenWav(work, name, sentences)).toString('base64') },
      })),
    );
  });

  after(async () => {
    try {
      await mediaStack?.close();
    } finally {
      await h?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    }
  });

  const pointsOf = (docId: string): Promise<Array<Record<string, unknown>>> => payloadsOf(h, docId);

  it('indexes each recording as its audio vector and one text chunk per sentence, with start_ms and end_ms', async () => {
    const points = await waitFor(
      'both recordings transcribed and indexed',
      async () => {
        const all = await Promise.all(Object.keys(RECORDINGS).map((name) => pointsOf(id(name))));
        return all.every((p) => p.length >= 2) ? all : undefined;
      },
      600_000,
      500,
    );
    for (const payloads of points) {
      const sorted = payloads.sort((a, b) => Number(a.chunk) - Number(b.chunk));
      assert.equal(sorted.length, 2, JSON.stringify(sorted));
      const [first, second] = sorted.map((p) => ({ start: Number(p.start_ms), end: Number(p.end_ms), text: String(p.text) }));
      assert.ok(first!.start >= 0 && first!.end > first!.start, JSON.stringify(sorted));
      // The second sentence starts after the first one's 1.5 s pause, less the segments' padding.
      assert.ok(second!.start >= first!.end && second!.start - first!.end >= 800, JSON.stringify(sorted));
      assert.equal((sorted[0]!.media as { modality?: string }).modality, 'audio');
    }
  });

  it('a text query for a sentence finds its recording, the best chunk being that sentence', async () => {
    const cases = [
      { query: 'lemon juice for making punch', name: 'tavern', sentence: 1 },
      { query: 'a smell of stale beer', name: 'tavern', sentence: 0 },
      { query: 'bowls of rice', name: 'kitchen', sentence: 0 },
    ];
    for (const { query, name, sentence } of cases) {
      const hits: SearchHit[] = (await mediaStack.query.client.search({ text: query, topK: 3 })).hits;
      const show = JSON.stringify(hits.map((hit) => [hit.docId, hit.chunk, hit.snippet, hit.score.toFixed(3)]));
      assert.equal(hits[0]?.docId, id(name), `${query}: ${show}`);
      assert.equal(hits[0]?.chunk, sentence, `${query}: ${show}`);
      const [best] = await h.qdrant.retrieve(h.topology.qdrant.alias, {
        ids: [pointId(DEFAULT_TENANT, id(name), sentence)],
        with_payload: true,
      });
      const payload = best?.payload as { start_ms?: unknown; end_ms?: unknown } | undefined;
      assert.ok(typeof payload?.start_ms === 'number' && typeof payload.end_ms === 'number', JSON.stringify(payload));
      // The hit carries the times of the sentence it matched.
      assert.deepEqual([hits[0].startMs, hits[0].endMs], [payload.start_ms, payload.end_ms]);
      assert.equal(hits[0].textSource, 'transcript', 'the hit says it matched what was said');
    }
  });
});
