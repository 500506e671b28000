import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { encodeAndWrite, indexDocuments, inGroups } from '../../../../consumers/encoder/index.ts';
import type { DocumentEncoder, MediaEncoder } from '../../../../consumers/embedding/index.ts';
import { ContractError, layoutFor, type IngestMessage } from '../../../../topology/index.ts';
import { errorOf } from '../../../support/error-kinds.ts';

// The overlap of inference with writes, on fakes whose calls finish only when the test says so:
// the order of events is what is checked, never a time.

interface Deferred {
  resolve(): void;
  reject(error: Error): void;
  promise: Promise<void>;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { resolve, reject, promise };
}
/** Lets every pending callback run (the pipeline's awaits settle). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function controlled() {
  const events: string[] = [];
  const encodes = new Map<number, Deferred>();
  const writes = new Map<number, Deferred>();
  const gate = (map: Map<number, Deferred>, key: number): Deferred => {
    if (!map.has(key)) map.set(key, deferred());
    return map.get(key)!;
  };
  const encode = async (group: number[]): Promise<string> => {
    events.push(`encode ${group[0]} start`);
    await gate(encodes, group[0]!).promise;
    events.push(`encode ${group[0]} end`);
    return `v${group[0]}`;
  };
  const write = async (group: number[], encoded: string): Promise<void> => {
    events.push(`write ${group[0]} start (${encoded})`);
    await gate(writes, group[0]!).promise;
    events.push(`write ${group[0]} end`);
  };
  return {
    events,
    encode,
    write,
    encodeDone: (g: number) => gate(encodes, g).resolve(),
    writeDone: (g: number) => gate(writes, g).resolve(),
    writeFails: (g: number, e: Error) => gate(writes, g).reject(e),
    encodeFails: (g: number, e: Error) => gate(encodes, g).reject(e),
  };
}

describe('encodeAndWrite', () => {
  it('encodes the next group while the previous one is written, and writes in order, one at a time', async () => {
    const c = controlled();
    let done = false;
    const run = encodeAndWrite([[0], [1], [2]], c.encode, c.write).then((r) => ((done = true), r));
    await settle();
    c.encodeDone(0);
    await settle();
    // Group 0 is being written and group 1 encoded at the same time.
    assert.deepEqual(c.events, ['encode 0 start', 'encode 0 end', 'write 0 start (v0)', 'encode 1 start']);
    c.encodeDone(1);
    await settle();
    // Group 1 is encoded, but its write waits for group 0's acknowledgement.
    assert.equal(c.events.includes('write 1 start (v1)'), false);
    c.writeDone(0);
    await settle();
    assert.deepEqual(c.events.slice(4), ['encode 1 end', 'write 0 end', 'write 1 start (v1)', 'encode 2 start']);
    c.encodeDone(2);
    c.writeDone(1);
    await settle();
    assert.equal(done, false, 'resolved before the last write was acknowledged');
    c.writeDone(2);
    assert.deepEqual(await run, ['v0', 'v1', 'v2']);
    assert.deepEqual(
      c.events.filter((e) => e.startsWith('write')),
      ['write 0 start (v0)', 'write 0 end', 'write 1 start (v1)', 'write 1 end', 'write 2 start (v2)', 'write 2 end'],
    );
  });

  it('starts no write after a failed one and waits for the encode in flight before rejecting', async () => {
    const c = controlled();
    let settled = false;
    const run = encodeAndWrite([[0], [1], [2]], c.encode, c.write).finally(() => (settled = true));
    c.encodeDone(0);
    await settle();
    c.writeFails(0, new Error('qdrant down'));
    await settle();
    assert.equal(settled, false, 'rejected while group 1 was still being encoded');
    c.encodeDone(1);
    await assert.rejects(run, /qdrant down/);
    assert.equal(
      c.events.some((e) => e.startsWith('write 1')),
      false,
    );
    assert.equal(
      c.events.some((e) => e.startsWith('encode 2')),
      false,
    );
  });

  it('waits for the write in flight when an encode fails, then rejects with the encode error', async () => {
    const c = controlled();
    let settled = false;
    const run = encodeAndWrite([[0], [1], [2]], c.encode, c.write).finally(() => (settled = true));
    c.encodeDone(0);
    await settle();
    c.encodeFails(1, new Error('model died'));
    await settle();
    assert.equal(settled, false, 'rejected while group 0 was still being written');
    c.writeDone(0);
    await assert.rejects(run, /model died/);
    assert.deepEqual(
      c.events.filter((e) => e.startsWith('write')),
      ['write 0 start (v0)', 'write 0 end'],
    );
  });

  it('turns a synchronous throw of encode into a rejection', async () => {
    const encode = (): Promise<string> => {
      throw new Error('sync');
    };
    await assert.rejects(
      encodeAndWrite([[0]], encode, () => Promise.resolve()),
      /sync/,
    );
  });

  it('does nothing for no groups', async () => {
    assert.deepEqual(
      await encodeAndWrite(
        [],
        () => Promise.reject(new Error('no')),
        () => Promise.reject(new Error('no')),
      ),
      [],
    );
  });
});

describe('inGroups', () => {
  it('splits in order, the last group shorter', () => {
    assert.deepEqual(inGroups([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.deepEqual(inGroups([], 3), []);
    assert.throws(() => inGroups([1], 0), RangeError);
  });
});

describe('indexDocuments with groups', () => {
  const upsert = (id: string): IngestMessage => ({ kind: 'upsert', tenant: 'default', id, document: { schemaVersion: 1, id, text: id } });

  it('writes each group in document order, deletes stale chunks only after every upsert, and keeps the last version of a repeated document', async () => {
    const calls: string[] = [];
    const qdrant = {
      upsert: (_c: string, body: { points: Array<{ payload: { doc_id: string; text: string } }> }) => (
        calls.push(`upsert ${body.points.map((p) => p.payload.text).join(',')}`),
        Promise.resolve({})
      ),
      delete: () => (calls.push('delete'), Promise.resolve({})),
    } as unknown as QdrantClient;
    const encoder: DocumentEncoder = {
      modelId: 'm',
      encodeDocuments: (texts) => (
        calls.push(`encode ${texts.join(',')}`),
        Promise.resolve(texts.map((t) => [{ text: t, vector: new Float32Array([1]) }]))
      ),
    };
    const messages = ['a', 'b', 'c', 'd', 'e'].map(upsert);
    messages.push({ kind: 'upsert', tenant: 'default', id: 'b', document: { schemaVersion: 1, id: 'b', text: 'b2' } });
    const result = await indexDocuments(messages, { qdrant, collection: 'c', encoder, groupSize: 2, layout: layoutFor(null) });
    assert.deepEqual(countsOf(result), { upserted: 5, deleted: 0, points: 5 });
    const upserts = calls.filter((c) => c.startsWith('upsert'));
    assert.deepEqual(upserts, ['upsert a,c', 'upsert d,e', 'upsert b2']);
    assert.equal(calls.at(-1), 'delete');
    assert.equal(calls.indexOf('delete'), calls.length - 1);
    // Every write carries its own group's vectors, after that group was encoded.
    for (const group of ['a,c', 'd,e', 'b2']) assert.ok(calls.indexOf(`encode ${group}`) < calls.indexOf(`upsert ${group}`));
  });

  it("embeds a group's media in its encode phase, overlapping the previous write; the medium sits on the first point, with each point's source offset", async () => {
    const events: string[] = [];
    const written: Array<{
      vector: Record<string, unknown>;
      payload: { doc_id: string; text: string; source_offset?: string; media?: unknown };
    }> = [];
    const firstWrite = deferred();
    let writes = 0;
    const qdrant = {
      retrieve: () => Promise.resolve([]),
      upsert: async (_c: string, body: { points: typeof written }) => {
        const n = ++writes;
        events.push(`upsert ${n} start`);
        if (n === 1) await firstWrite.promise;
        written.push(...body.points);
        events.push(`upsert ${n} end`);
        return {};
      },
      delete: () => (events.push('delete'), Promise.resolve({})),
    } as unknown as QdrantClient;
    const encoder: DocumentEncoder = {
      modelId: 'm',
      encodeDocuments: (texts) => Promise.resolve(texts.map((t) => [{ text: t, vector: new Float32Array([1]) }])),
    };
    const media: MediaEncoder = {
      read: (ref) => (events.push(`read ${ref.data}`), Promise.resolve(Buffer.from(ref.data ?? ''))),
      embed: (modality) => Promise.resolve(new Float32Array([modality === 'image' ? 2 : 3])),
      embedImage: () => Promise.resolve({ vector: new Float32Array([2]), labels: [] }),
      extract: () => Promise.reject(new Error('no document files here')),
      ocr: () => Promise.resolve(null),
      transcribe: () => Promise.resolve(null),
      embedVideo: () => Promise.reject(new Error('no video here')),
      close: () => Promise.resolve(),
    };
    const doc = (id: string, fields: Record<string, unknown>): IngestMessage => ({
      kind: 'upsert',
      tenant: 'default',
      id,
      document: { schemaVersion: 1, id, ...fields },
    });
    const messages = [
      doc('a', { text: 'a' }),
      doc('p', { media: { type: 'image/png', data: 'cA' } }),
      doc('q', { text: 'q', media: { type: 'audio/wav', data: 'cQ' } }),
    ];
    const sources = messages.map((_, i) => ({ partition: 0, offset: String(10 + i) }));
    const run = indexDocuments(messages, { qdrant, collection: 'c', encoder, media, sources, groupSize: 2, layout: layoutFor(null) });
    while (!events.includes('read cQ')) await settle();
    // The second group's medium is read (and embedded) while the first group's write is still open.
    assert.deepEqual(events, ['read cA', 'upsert 1 start', 'read cQ']);
    firstWrite.resolve();
    assert.deepEqual(countsOf(await run), { upserted: 3, deleted: 0, points: 3 });
    assert.deepEqual(events.slice(3), ['upsert 1 end', 'upsert 2 start', 'upsert 2 end', 'delete']);
    const byDoc = new Map(written.map((p) => [p.payload.doc_id, p]));
    assert.deepEqual(byDoc.get('a')!.vector, { text: [1] });
    assert.deepEqual(byDoc.get('p')!.vector, { image: [2] });
    assert.equal(byDoc.get('p')!.payload.text, '');
    assert.deepEqual(byDoc.get('q')!.vector, { text: [1], audio: [3] });
    assert.deepEqual(
      written.map((p) => p.payload.source_offset),
      ['10', '11', '12'],
    );
    assert.equal((byDoc.get('q')!.payload.media as { modality: string }).modality, 'audio');
  });

  it('fails the batch with the media ContractError of a bad medium in a later group, and deletes nothing', async () => {
    const calls: string[] = [];
    const qdrant = {
      upsert: () => (calls.push('upsert'), Promise.resolve({})),
      delete: () => (calls.push('delete'), Promise.resolve({})),
    } as unknown as QdrantClient;
    const encoder: DocumentEncoder = {
      modelId: 'm',
      encodeDocuments: (texts) => Promise.resolve(texts.map((t) => [{ text: t, vector: new Float32Array([1]) }])),
    };
    const media: MediaEncoder = {
      read: (ref) => Promise.resolve(Buffer.from(ref.data ?? '')),
      embed: () => Promise.reject(new ContractError('media-undecodable', 'not an image')),
      embedImage: () => Promise.reject(new ContractError('media-undecodable', 'not an image')),
      extract: () => Promise.reject(new Error('no document files here')),
      ocr: () => Promise.resolve(null),
      transcribe: () => Promise.resolve(null),
      embedVideo: () => Promise.reject(new ContractError('media-undecodable', 'not a video')),
      close: () => Promise.resolve(),
    };
    const messages: IngestMessage[] = [
      upsert('a'),
      upsert('b'),
      { kind: 'upsert', tenant: 'default', id: 'bad', document: { schemaVersion: 1, id: 'bad', media: { type: 'image/png', data: 'eA' } } },
    ];
    await assert.rejects(
      indexDocuments(messages, { qdrant, collection: 'c', encoder, media, groupSize: 2, layout: layoutFor(null) }),
      errorOf(ContractError, 'media-undecodable', /default\/bad: not an image/),
    );
    // The first group was written (a redelivery rewrites it); stale chunks are only deleted after every write.
    assert.deepEqual(calls, ['upsert']);
  });
  it('writes a video as its moments: a point per frame (image) and audio segment (audio), each with its time; the title on the first; stale points past the last moment deleted', async () => {
    const written: Array<{
      id: string;
      vector: Record<string, unknown>;
      payload: { chunk: number; chunks: number; text: string; media?: { modality: string; at?: number; uri?: string } };
    }> = [];
    const deletes: unknown[] = [];
    const qdrant = {
      upsert: (_c: string, body: { points: typeof written }) => (written.push(...body.points), Promise.resolve({})),
      delete: (_c: string, body: unknown) => (deletes.push(body), Promise.resolve({})),
    } as unknown as QdrantClient;
    const encoder: DocumentEncoder = {
      modelId: 'm',
      encodeDocuments: (texts) => Promise.resolve(texts.map((t) => [{ text: t, vector: new Float32Array([1]) }])),
    };
    const models: string[] = [];
    const media: MediaEncoder = {
      read: (ref) => Promise.resolve(Buffer.from(ref.uri ?? '')),
      embed: () => Promise.reject(new Error('a video is not embedded as one image')),
      embedImage: () => Promise.reject(new Error('a video is not embedded as one image')),
      // Frames at 0, 1 and 2 s; audio segments from 0 s (joins the first frame) and 10.3 s (its own point).
      embedVideo: (m) => {
        models.push(m.image.id, m.audio?.id ?? 'none');
        return Promise.resolve({
          durationSeconds: 12,
          frames: [0, 1, 2].map((at) => ({ atSeconds: at, vector: new Float32Array([10 + at]) })),
          audio: [0.04, 10.3].map((at) => ({ atSeconds: at, vector: new Float32Array([20 + at]) })),
        });
      },
      // A video is neither a document file nor an image to OCR.
      extract: () => Promise.reject(new Error('a video has no text to extract')),
      ocr: () => Promise.reject(new Error("a video is not OCR'd")),
      transcribe: () => Promise.reject(new Error('a video is not transcribed')),
      close: () => Promise.resolve(),
    };
    const message: IngestMessage = {
      kind: 'upsert',
      tenant: 'default',
      id: 'v',
      document: { schemaVersion: 1, id: 'v', title: 'holiday', media: { type: 'video/mp4', uri: 'file:///media/holiday.mp4' } },
    };
    assert.deepEqual(countsOf(await indexDocuments([message], { qdrant, collection: 'c', encoder, media, layout: layoutFor(null) })), {
      upserted: 1,
      deleted: 0,
      points: 4,
    });
    assert.deepEqual(models, ['efficientnet-lite0', 'speech-embedding']);
    assert.deepEqual(
      written.map((p) => [p.payload.chunk, p.payload.chunks, p.payload.text, p.payload.media?.at, Object.keys(p.vector).sort().join('+')]),
      [
        [0, 4, 'holiday', 0, 'audio+image+text'],
        [1, 4, '', 1, 'image'],
        [2, 4, '', 2, 'image'],
        [3, 4, '', 10.3, 'audio'],
      ],
    );
    assert.deepEqual(written[3]!.vector, { audio: [20 + 10.3].map((x) => Math.fround(x)) });
    assert.ok(written.every((p) => p.payload.media?.modality === 'video' && p.payload.media.uri === 'file:///media/holiday.mp4'));
    // A shorter earlier version's points past the fourth go.
    assert.match(JSON.stringify(deletes), /"key":"chunk","range":\{"gte":4\}/);
  });
});

/** The counts of an index result (the applied documents are checked where they matter). */
function countsOf(result: { upserted: number; deleted: number; points: number }): { upserted: number; deleted: number; points: number } {
  return { upserted: result.upserted, deleted: result.deleted, points: result.points };
}
