import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Consumer } from 'kafkajs';
import { DEFAULT_TENANT, documentKey, HEADERS } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { payloadsOf, runTool, SPOKEN_SENTENCES } from '../support/speech-fixtures.ts';
import { startMediaStack, type MediaStack } from '../support/media-stack.ts';

// Recordings that give no transcript, or cannot be read, never hold up their partition: on one
// ingest partition, with speech to text on (Moonshine tiny), silence and white noise are indexed by
// their title and audio vector, a corrupt file is dead-lettered with its code, a ~26 s recording
// spoken without a pause (one segment; such segments failed in the decoder before) is indexed with
// its transcript, and a text document published after them all is indexed too.
const LONG = SPOKEN_SENTENCES;
const run = runTool;

function lavfi(work: string, name: string, source: string): Buffer {
  const path = join(work, `${name}.wav`);
  run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', source, '-t', '6', '-ac', '1', path]);
  return readFileSync(path);
}

describe('speech to text: bad and long audio never stall a partition', () => {
  let h: Harness;
  let mediaStack: MediaStack;
  let work: string;
  let dlq: Consumer | undefined;
  const letters: Array<{ key: string; code: string }> = [];
  const id = (name: string): string => `bad-audio-${name}-${h.namespace}`;

  before(async () => {
    h = await createHarness({
      env: { SEARCHBUS_SPEECH_TO_TEXT: 'true', SEARCHBUS_SPEECH_MODEL: 'tiny', SEARCHBUS_INGEST_PARTITIONS: '1' },
    });
    work = mkdtempSync(join(tmpdir(), 'searchbus-bad-audio-'));
    // The long recording (~1.1 MB of WAV) is over the inline limit: it is published by uri.
    mediaStack = await startMediaStack(h, { ocr: false, extraFileRoots: [work] });
    dlq = h.kafka.consumer({ groupId: `${h.namespace}.dlq-reader` });
    await dlq.connect();
    await dlq.subscribe({ topic: h.topology.topics.deadLetter, fromBeginning: true });
    await dlq.run({
      eachMessage: ({ message }) => {
        letters.push({ key: message.key?.toString() ?? '', code: message.headers?.[HEADERS.errorCode]?.toString() ?? '' });
        return Promise.resolve();
      },
    });
    const longPath = join(work, 'long.wav');
    run('espeak-ng', ['-v', 'en-us', '-s', '160', '-w', longPath, LONG.join(' ')]);
    const wav = (data: Buffer): { type: string; data: string } => ({ type: 'audio/wav', data: data.toString('base64') });
    // One publish, in this order, on the topic's one partition.
    await mediaStack.producer.upsert([
      { id: id('silence'), title: 'Quiet reading room', media: wav(lavfi(work, 'silence', 'anullsrc=r=16000:cl=mono')) },
      { id: id('noise'), title: 'Static on the line', media: wav(lavfi(work, 'noise', 'anoisesrc=r=16000:c=white:a=0.3:seed=5')) },
      { id: id('corrupt'), title: 'Broken file', media: wav(Buffer.from('RIFF\u0000\u0000\u0000\u0000WAVEnot a wave file at all')) },
      { id: id('long'), media: { type: 'audio/wav', uri: pathToFileURL(longPath).href } },
      { id: id('after'), title: 'Harbour timetable', text: 'Ferries to the islands leave at dawn from the north pier.' },
    ]);
  });

  after(async () => {
    try {
      await dlq?.disconnect();
      await mediaStack?.close();
    } finally {
      await h?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    }
  });

  const pointsOf = (docId: string): Promise<Array<Record<string, unknown>>> => payloadsOf(h, docId);

  it('indexes the document published after them all, and gives each recording its outcome', async () => {
    await waitFor(
      'the document after the recordings is indexed',
      async () => ((await pointsOf(id('after'))).length > 0 ? true : undefined),
      600_000,
      500,
    );
    await waitFor('the long recording is indexed', async () => ((await pointsOf(id('long'))).length > 0 ? true : undefined), 600_000, 500);

    // Silence and noise: no transcript, so one point with the title and the audio vector.
    for (const [name, title] of [
      ['silence', 'Quiet reading room'],
      ['noise', 'Static on the line'],
    ] as const) {
      const points = await pointsOf(id(name));
      assert.equal(points.length, 1, `${name}: ${JSON.stringify(points)}`);
      assert.equal(points[0]!.text, title, name);
      assert.equal(points[0]!.start_ms, undefined, name);
      assert.equal((points[0]!.media as { modality?: string }).modality, 'audio', name);
    }

    // The corrupt file: a dead letter with its code, nothing written.
    await waitFor('the corrupt file is dead-lettered', () => Promise.resolve(letters.length > 0 ? true : undefined), 120_000, 200);
    assert.deepEqual(letters, [{ key: documentKey(DEFAULT_TENANT, id('corrupt')), code: 'media-undecodable' }]);
    assert.deepEqual(await pointsOf(id('corrupt')), []);

    // The long recording: its transcript, with times within the recording.
    const long = (await pointsOf(id('long'))).sort((a, b) => Number(a.chunk) - Number(b.chunk));
    const text = long.map((p) => String(p.text)).join(' ');
    assert.match(text, /pants|button|swan|fish/i, text);
    for (const p of long) assert.ok(typeof p.start_ms === 'number' && Number(p.end_ms) > 20_000, JSON.stringify(p));
  });

  it('finds the long recording by a sentence said near its end', async () => {
    const { hits } = await mediaStack.query.client.search({ text: 'sewing a button on a vest', topK: 3 });
    const show = JSON.stringify(hits.map((hit) => [hit.docId, hit.chunk, hit.snippet]));
    assert.equal(hits[0]?.docId, id('long'), show);
    assert.equal(hits[0]?.textSource, 'transcript', show);
  });
});
