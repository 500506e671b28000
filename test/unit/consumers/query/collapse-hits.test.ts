import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collapseToDocuments, initialLimit, needsMore, nextLimit, snippet } from '../../../../consumers/query/index.ts';

const point = (doc: string, chunk: number, score: number, extra: Record<string, unknown> = {}) => ({
  score,
  payload: { doc_id: doc, chunk, title: `T ${doc}`, text: `chunk ${chunk} of ${doc}`, metadata: { n: 1 }, ...extra },
});

describe('collapseToDocuments', () => {
  it("keeps each document once, at its best chunk's rank and score", () => {
    const hits = collapseToDocuments([point('a', 2, 0.9), point('b', 0, 0.8), point('a', 0, 0.7), point('c', 1, 0.6)], 10);
    assert.deepEqual(
      hits.map((h) => [h.docId, h.chunk, h.score]),
      [
        ['a', 2, 0.9],
        ['b', 0, 0.8],
        ['c', 1, 0.6],
      ],
    );
    assert.deepEqual(hits[0], { docId: 'a', chunk: 2, score: 0.9, title: 'T a', snippet: 'chunk 2 of a', metadata: { n: 1 } });
  });

  it("gives a document file's hit the page of its best chunk", () => {
    const media = { type: 'application/pdf', modality: 'document', model: 'pdfjs-dist-4.10.38' };
    const [hit] = collapseToDocuments([point('spec.pdf', 5, 0.9, { page: 3, media }), point('spec.pdf', 0, 0.5, { page: 1, media })], 10);
    assert.equal(hit!.page, 3);
    assert.deepEqual(hit!.media, { type: 'application/pdf', modality: 'document' });
    assert.equal('page' in collapseToDocuments([point('a', 0, 1)], 1)[0]!, false);
  });

  it("gives a code hit its best chunk's language, symbol and lines", () => {
    const media = { type: 'text/x-python', modality: 'document', model: 'web-tree-sitter-0.25.10' };
    const [hit] = collapseToDocuments(
      [
        point('headers.py', 2, 0.9, { media, language: 'python', symbol: 'parse_header', start_line: 8, end_line: 16 }),
        point('headers.py', 0, 0.5, { media, language: 'python', start_line: 1, end_line: 7 }),
      ],
      10,
    );
    assert.deepEqual(hit!.code, { language: 'python', symbol: 'parse_header', startLine: 8, endLine: 16 });
    assert.deepEqual(collapseToDocuments([point('m.py', 0, 1, { language: 'python', start_line: 1, end_line: 7 })], 1)[0]!.code, {
      language: 'python',
      startLine: 1,
      endLine: 7,
    });
    assert.equal('code' in collapseToDocuments([point('a', 0, 1, { language: 'cobol', start_line: 1, end_line: 2 })], 1)[0]!, false);
  });

  it("gives a recording's hit the times of its best chunk's speech, and other hits none", () => {
    const media = { type: 'audio/wav', modality: 'audio', model: 'speech-embedding' };
    const [hit] = collapseToDocuments(
      [point('talk.wav', 2, 0.9, { start_ms: 4200, end_ms: 7830, media }), point('talk.wav', 0, 0.5, { start_ms: 0, end_ms: 2100, media })],
      10,
    );
    assert.deepEqual([hit!.startMs, hit!.endMs], [4200, 7830]);
    assert.equal('startMs' in collapseToDocuments([point('a', 0, 1)], 1)[0]!, false);
  });

  it("gives a video hit the moment of its best frame or audio segment, and a photo's medium without one", () => {
    const video = (chunk: number, at: number, score: number) =>
      point('v', chunk, score, { media: { type: 'video/mp4', modality: 'video', model: 'm', uri: 'file:///v.mp4', at } });
    const hits = collapseToDocuments(
      [video(3, 3.04, 0.9), point('p', 0, 0.8, { media: { type: 'image/jpeg', modality: 'image', model: 'm' } }), video(0, 0, 0.7)],
      10,
    );
    assert.deepEqual(
      hits.map((h) => [h.docId, h.chunk, h.media]),
      [
        ['v', 3, { type: 'video/mp4', modality: 'video', uri: 'file:///v.mp4', at: 3.04 }],
        ['p', 0, { type: 'image/jpeg', modality: 'image' }],
      ],
    );
  });

  it('stops at topK documents', () => {
    assert.deepEqual(
      collapseToDocuments([point('a', 0, 3), point('a', 1, 2), point('b', 0, 1), point('c', 0, 0)], 2).map((h) => h.docId),
      ['a', 'b'],
    );
  });

  it('skips points without a document id and fills missing fields', () => {
    const hits = collapseToDocuments(
      [
        { score: 1, payload: { chunk: 0 } },
        { score: 0.5, payload: { doc_id: 'x' } },
        { score: 0.1, payload: null },
      ],
      5,
    );
    assert.deepEqual(hits, [{ docId: 'x', chunk: 0, score: 0.5, title: '', snippet: '', metadata: {} }]);
  });
});

describe('collapseToDocuments: media', () => {
  it("carries a hit's medium: type, modality, uri and the photo's preview, never the model or other fields", () => {
    const thumbnail = 'data:image/webp;base64,UklGRg==';
    const [photo, clip] = collapseToDocuments(
      [
        point('p', 0, 0.9, { media: { type: 'image/jpeg', modality: 'image', model: 'efficientnet-lite0', thumbnail, source: 'x' } }),
        point('c', 0, 0.8, {
          media: { type: 'audio/wav', modality: 'audio', model: 'speech-embedding', uri: 'https://media.example/c.wav' },
        }),
      ],
      10,
    );
    assert.deepEqual(photo?.media, { type: 'image/jpeg', modality: 'image', thumbnail });
    assert.deepEqual(clip?.media, { type: 'audio/wav', modality: 'audio', uri: 'https://media.example/c.wav' });
  });
});

describe('oversampling limits', () => {
  it('asks for topK x oversampling chunks, capped, then four times more until the cap', () => {
    assert.equal(initialLimit(10, 3, 1000), 30);
    assert.equal(initialLimit(100, 20, 1000), 1000);
    assert.equal(nextLimit(30, 1000), 120);
    assert.equal(nextLimit(480, 1000), 1000);
    assert.equal(nextLimit(1000, 1000), null);
  });

  it('asks again only when a full page collapsed to too few documents', () => {
    assert.equal(needsMore(30, 30, 7, 10), true);
    assert.equal(needsMore(25, 30, 7, 10), false, 'a short page means the collection has no more');
    assert.equal(needsMore(30, 30, 10, 10), false);
  });
});

describe('snippet', () => {
  it('flattens whitespace and keeps short text whole', () => {
    assert.equal(snippet('  a\n\nb\tc  '), 'a b c');
  });
  it('cuts long text at a word boundary with an ellipsis', () => {
    const text = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
    const s = snippet(text, 50);
    assert.ok(s.length <= 50, s);
    assert.ok(s.endsWith('…'));
    assert.ok(text.startsWith(s.slice(0, -1)));
    assert.match(s, /word\d+…$/);
  });
});
