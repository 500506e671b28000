import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { indexDocuments } from '../../../../consumers/encoder/index.ts';
import {
  extractDocument,
  imageLabels,
  labelText,
  type DocumentEncoder,
  type ImageLabel,
  type MediaEncoder,
  type TextSegment,
  type VideoEmbedding,
  TranscriptionFailure,
} from '../../../../consumers/embedding/index.ts';
import { ContractError, UnavailableError, layoutFor, type ChunkPayload, type IngestMessage } from '../../../../topology/index.ts';
import { errorOf } from '../../../support/error-kinds.ts';
import { pdfFile } from '../../../support/documents.ts';

// Extracted text on the text path, with fakes for Qdrant, the text model (one chunk per sentence,
// with its offsets, like the real chunker's windows) and the media models (OCR and speech to text
// give the text they are told to); the PDF extractor is real.

interface Written {
  vector: Record<string, unknown>;
  payload: ChunkPayload;
}

function fakes(options: { ocrText?: string; labels?: ImageLabel[]; speech?: TextSegment[] | Error; video?: VideoEmbedding } = {}) {
  const written: Written[] = [];
  const qdrant = {
    retrieve: () => Promise.resolve([]),
    upsert: (_c: string, body: { points: Written[] }) => (written.push(...body.points), Promise.resolve({})),
    delete: () => Promise.resolve({}),
  } as unknown as QdrantClient;
  const encoded: string[] = [];
  const encoder: DocumentEncoder = {
    modelId: 'm',
    encodeDocuments: (texts) =>
      Promise.resolve(
        texts.map((text) => {
          encoded.push(text);
          return [...text.matchAll(/[^.]+\./g)].map((m) => ({
            text: m[0],
            vector: new Float32Array([1]),
            start: m.index,
            end: m.index + m[0].length,
          }));
        }),
      ),
  };
  const media: MediaEncoder = {
    read: (ref) => Promise.resolve(Buffer.from(ref.data ?? '', 'base64')),
    embed: () => Promise.resolve(new Float32Array([7])),
    embedImage: () => Promise.resolve({ vector: new Float32Array([7]), labels: options.labels ?? [] }),
    embedVideo: () => (options.video ? Promise.resolve(options.video) : Promise.reject(new Error('no video here'))),
    extract: extractDocument,
    ocr: () => Promise.resolve(options.ocrText === undefined ? null : { text: options.ocrText, lines: 1, kept: 1 }),
    transcribe: () => (options.speech instanceof Error ? Promise.reject(options.speech) : Promise.resolve(options.speech ?? null)),
    close: () => Promise.resolve(),
  };
  return { written, qdrant, encoder, media, encoded };
}

const upsert = (id: string, fields: Record<string, unknown>): IngestMessage => ({
  kind: 'upsert',
  tenant: 'default',
  id,
  document: { schemaVersion: 1, id, ...fields },
});

describe('indexDocuments with document files, OCR and transcribed speech', () => {
  it("chunks a PDF page by page: each point records its page and its place in that page's text; no media vector", async () => {
    const f = fakes();
    const pdf = pdfFile([['Ferries leave at dawn. Tickets on board.'], [], ['Dogs travel free.']]);
    const result = await indexDocuments(
      [upsert('timetable.pdf', { title: 'Timetable', media: { type: 'application/pdf', data: pdf.toString('base64') } })],
      {
        qdrant: f.qdrant,
        collection: 'c',
        encoder: f.encoder,
        media: f.media,
        layout: layoutFor(null),
      },
    );
    assert.deepEqual(countsOf(result), { upserted: 1, deleted: 0, points: 3 });
    // The title leads the first page's text; positions are in the page's own extracted text.
    assert.deepEqual(f.encoded, ['Timetable\n\nFerries leave at dawn. Tickets on board.', 'Dogs travel free.']);
    assert.deepEqual(
      f.written.map((p) => [p.payload.chunk, p.payload.chunks, p.payload.page, p.payload.position, p.payload.text]),
      [
        [0, 3, 1, { start: 0, end: 22 }, 'Timetable\n\nFerries leave at dawn.'],
        [1, 3, 1, { start: 22, end: 40 }, ' Tickets on board.'],
        [2, 3, 3, { start: 0, end: 17 }, 'Dogs travel free.'],
      ],
    );
    for (const point of f.written) {
      assert.deepEqual(Object.keys(point.vector), ['text']);
      assert.deepEqual(point.payload.media, { type: 'application/pdf', modality: 'document', model: 'pdfjs-dist-4.10.38' });
    }
  });

  it('gives an image its OCR text beside its image vector, after its title; a photo without text stays title-only', async () => {
    const shot = fakes({ ocrText: 'Backup failed. The drive is full.' });
    const image = { type: 'image/png', uri: 'file:///shots/backup.png' };
    await indexDocuments([upsert('backup.png', { title: 'Backup dialog', media: image })], {
      qdrant: shot.qdrant,
      collection: 'c',
      encoder: shot.encoder,
      media: shot.media,
      layout: layoutFor(null),
    });
    assert.deepEqual(shot.encoded, ['Backup dialog\n\nBackup failed. The drive is full.']);
    assert.deepEqual(
      shot.written.map((p) => [Object.keys(p.vector), p.payload.text, p.payload.position, p.payload.page]),
      [
        [['text', 'image'], 'Backup dialog\n\nBackup failed.', { start: 0, end: 14 }, undefined],
        [['text'], ' The drive is full.', { start: 14, end: 33 }, undefined],
      ],
    );
    assert.equal(shot.written[0]!.payload.media?.modality, 'image');

    const photo = fakes({ ocrText: '' });
    await indexDocuments([upsert('dog.jpg', { title: 'A dog.', media: { type: 'image/jpeg', data: 'AAAA' } })], {
      qdrant: photo.qdrant,
      collection: 'c',
      encoder: photo.encoder,
      media: photo.media,
      layout: layoutFor(null),
    });
    assert.deepEqual(photo.encoded, ['A dog.']);
    assert.equal(photo.written.length, 1);
    assert.equal(photo.written[0]!.payload.position, undefined);
  });

  it("indexes what the model saw in a photo as its text (after any OCR text), marks each chunk's source, and keeps the labels with the image", async () => {
    const logits = new Float32Array(1000).fill(-5);
    logits[301] = 6; // ladybug
    logits[304] = 4.5; // leaf beetle, the runner-up
    const labels = imageLabels(logits, { max: 3, minPercent: 10 });
    const indexPhoto = async (ocrText: string, id: string): Promise<ReturnType<typeof fakes>> => {
      const f = fakes({ ocrText, labels });
      const document = upsert(`${id}.jpg`, { title: id, media: { type: 'image/jpeg', data: 'AAAA' } });
      await indexDocuments([document], { qdrant: f.qdrant, collection: 'c', encoder: f.encoder, media: f.media, layout: layoutFor(null) });
      return f;
    };
    const photo = await indexPhoto('Spring 2008.', 'img-07');
    assert.deepEqual(photo.encoded, ['img-07\n\nSpring 2008.', labelText(labels)]);
    assert.match(photo.encoded[1]!, /ladybird/, 'the synonyms are indexed too');
    assert.deepEqual(
      photo.written.map((p) => p.payload.text_source),
      ['ocr', 'labels', 'labels'],
    );

    const plain = await indexPhoto('', 'img-08');
    assert.deepEqual(plain.encoded, [`img-08\n\n${labelText(labels)}`], 'without OCR text the labels follow the title');
    assert.deepEqual(
      photo.written[0]!.payload.media?.labels?.map((l) => l.name),
      labels.map((l) => l.name),
    );
    assert.equal(photo.written[0]!.payload.media?.labels?.[0]?.name, 'ladybug');
  });

  it("gives a recording its transcribed speech as text chunks with their segment's times, the audio vector on the first", async () => {
    const speech = [
      { text: 'Ferries leave at dawn.', startMs: 480, endMs: 2130 },
      { text: 'Dogs travel free. Bikes pay.', startMs: 3300, endMs: 5670 },
    ];
    const f = fakes({ speech });
    const recording = { type: 'audio/wav', uri: 'file:///talks/harbour.wav' };
    await indexDocuments([upsert('harbour.wav', { title: 'Harbour notice', media: recording })], {
      qdrant: f.qdrant,
      collection: 'c',
      encoder: f.encoder,
      media: f.media,
      layout: layoutFor(null),
    });
    assert.deepEqual(f.encoded, ['Harbour notice\n\nFerries leave at dawn.', 'Dogs travel free. Bikes pay.']);
    assert.deepEqual(
      f.written.map((p) => [Object.keys(p.vector), p.payload.text, p.payload.start_ms, p.payload.end_ms]),
      [
        [['text', 'audio'], 'Harbour notice\n\nFerries leave at dawn.', 480, 2130],
        [['text'], 'Dogs travel free.', 3300, 5670],
        [['text'], ' Bikes pay.', 3300, 5670],
      ],
    );
    assert.equal(f.written[0]!.payload.media?.modality, 'audio');

    // Nothing said (or speech to text off): the recording stays as it was, its title and its audio vector.
    const quiet = fakes({ speech: [] });
    await indexDocuments([upsert('rain.wav', { title: 'Rain.', media: { type: 'audio/wav', data: 'AAAA' } })], {
      qdrant: quiet.qdrant,
      collection: 'c',
      encoder: quiet.encoder,
      media: quiet.media,
      layout: layoutFor(null),
    });
    assert.deepEqual(quiet.encoded, ['Rain.']);
    assert.deepEqual(
      quiet.written.map((p) => [Object.keys(p.vector), p.payload.start_ms]),
      [[['text', 'audio'], undefined]],
    );
  });

  it('indexes a recording the speech model fails on without its transcript and says so; a transient failure still fails the batch', async () => {
    const failure = new TranscriptionFailure('decoder-error', 'moonshine-tiny-en: the speech decoder failed: a shape', new Error('ort'));
    const f = fakes({ speech: failure });
    const told: Array<[string, string]> = [];
    await indexDocuments([upsert('long.wav', { title: 'Long talk.', media: { type: 'audio/wav', data: 'AAAA' } })], {
      qdrant: f.qdrant,
      collection: 'c',
      encoder: f.encoder,
      media: f.media,
      layout: layoutFor(null),
      transcriptionFailed: (error, id) => told.push([error.reason, id]),
    });
    assert.deepEqual(f.encoded, ['Long talk.']);
    assert.deepEqual(
      f.written.map((p) => Object.keys(p.vector)),
      [['text', 'audio']],
    );
    assert.deepEqual(told, [['decoder-error', 'long.wav']]);

    // Out of memory, or a session gone: the same audio may work later, so the batch fails and is retried.
    const transient = fakes({ speech: new UnavailableError('encoder-failed', 'Failed to allocate memory') });
    await assert.rejects(
      indexDocuments([upsert('long.wav', { title: 'Long talk.', media: { type: 'audio/wav', data: 'AAAA' } })], {
        qdrant: transient.qdrant,
        collection: 'c',
        encoder: transient.encoder,
        media: transient.media,
        layout: layoutFor(null),
        transcriptionFailed: () => assert.fail('a transient failure is no transcription failure'),
      }),
      errorOf(UnavailableError, 'encoder-failed'),
    );
    assert.deepEqual(transient.written, []);
  });

  it("gives a video its soundtrack's speech as text chunks with their times, beside its frames; a speech failure keeps the frames", async () => {
    const frames = [0, 1, 2].map((at) => ({ atSeconds: at, vector: new Float32Array([10 + at]) }));
    const speech = [
      { text: 'Ferries leave at dawn.', startMs: 2040, endMs: 3800, source: 'transcript' as const },
      { text: 'Dogs travel free.', startMs: 5300, endMs: 6900, source: 'transcript' as const },
    ];
    const clip = { type: 'video/mp4', uri: 'file:///talks/harbour.mp4' };
    const f = fakes({ video: { durationSeconds: 8, frames, audio: [], speech } });
    await indexDocuments([upsert('harbour.mp4', { title: 'Harbour', media: clip })], {
      qdrant: f.qdrant,
      collection: 'c',
      encoder: f.encoder,
      media: f.media,
      layout: layoutFor(null),
    });
    assert.deepEqual(f.encoded, ['Harbour\n\nFerries leave at dawn.', 'Dogs travel free.']);
    assert.deepEqual(
      f.written.map((p) => [Object.keys(p.vector).sort().join('+'), p.payload.text_source, p.payload.start_ms, p.payload.media?.at]),
      [
        ['image+text', 'transcript', 2040, 0],
        ['image+text', 'transcript', 5300, 1],
        ['image', undefined, undefined, 2],
      ],
    );

    // The speech model failed on the track: the video is indexed from its title and frames, and the failure is told.
    const failure = new TranscriptionFailure('encoder-error', 'moonshine-tiny-en: the speech encoder failed: a shape', new Error('ort'));
    const failed = fakes({ video: { durationSeconds: 8, frames, audio: [], speech: failure } });
    const told: Array<[string, string]> = [];
    await indexDocuments([upsert('harbour.mp4', { title: 'Harbour', media: clip })], {
      qdrant: failed.qdrant,
      collection: 'c',
      encoder: failed.encoder,
      media: failed.media,
      layout: layoutFor(null),
      transcriptionFailed: (error, id) => told.push([error.reason, id]),
    });
    assert.deepEqual(failed.encoded, ['Harbour']);
    assert.equal(failed.written.length, 3);
    assert.ok(failed.written.every((p) => p.payload.start_ms === undefined));
    assert.deepEqual(told, [['encoder-error', 'harbour.mp4']]);
  });

  it('fails with the typed error of a document without text, naming the document, and writes nothing of it', async () => {
    const f = fakes();
    const empty = pdfFile([[]]);
    await assert.rejects(
      indexDocuments([upsert('scan.pdf', { media: { type: 'application/pdf', data: empty.toString('base64') } })], {
        qdrant: f.qdrant,
        collection: 'c',
        encoder: f.encoder,
        media: f.media,
        layout: layoutFor(null),
      }),
      errorOf(ContractError, 'document-no-text', /default\/scan\.pdf: the pdf file has no text/),
    );
    assert.equal(f.written.length, 0);
  });

  it('extracts document files into a collection without media vectors (they need none)', async () => {
    const f = fakes();
    const layout = { dense: 'text', sparse: null };
    await indexDocuments(
      [upsert('notes.md', { media: { type: 'text/markdown', data: Buffer.from('Tides turn twice a day.').toString('base64') } })],
      { qdrant: f.qdrant, collection: 'c', encoder: f.encoder, media: f.media, layout },
    );
    assert.deepEqual(
      f.written.map((p) => [p.payload.text, p.payload.position]),
      [['Tides turn twice a day.', { start: 0, end: 23 }]],
    );
  });
});

/** The counts of an index result (the applied documents are checked where they matter). */
function countsOf(result: { upserted: number; deleted: number; points: number }): { upserted: number; deleted: number; points: number } {
  return { upserted: result.upserted, deleted: result.deleted, points: result.points };
}
