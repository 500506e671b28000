import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  base64Bytes,
  decodeIngestMessage,
  decodeSearchRequest,
  layoutFor,
  layoutOf,
  collectionParams,
  getModelSpec,
  ContractError,
  validateDocumentMedia,
  validateMedia,
} from '../../../topology/index.ts';

const key = (id: string): Buffer => Buffer.from(`default/${id}`);
const doc = (fields: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 1, id: 'm', ...fields }));
const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ContractError);
    return error.code;
  }
  return 'accepted';
};

describe('media in the contracts', () => {
  it('accepts a document that is only a medium, inline or by uri', () => {
    const inline = decodeIngestMessage(key('m'), doc({ media: { type: 'image/png', data: 'iVBORw0KGgo=' } }));
    assert.equal(inline.kind === 'upsert' && inline.document.media?.type, 'image/png');
    assert.equal(
      code(() => decodeIngestMessage(key('m'), doc({ media: { type: 'audio/flac', uri: 'https://example.org/a.flac' } }))),
      'accepted',
    );
    assert.equal(
      code(() => decodeIngestMessage(key('m'), doc({ media: { type: 'Audio/Wav; rate=16000', uri: 'file:///tmp/a.wav' } }))),
      'accepted',
    );
    assert.equal(
      code(() => decodeIngestMessage(key('m'), doc({ media: { type: 'video/mp4', uri: 'file:///srv/holiday.mp4' } }))),
      'accepted',
    );
    assert.equal(validateDocumentMedia({ type: 'video/webm', uri: 'https://example.org/v.webm' }, 10).kind, 'video');
    // A query by example is an image or a clip, never a video.
    assert.equal(
      code(() => validateMedia({ type: 'video/webm', uri: 'https://example.org/v.webm' }, 10)),
      'unsupported-media-type',
    );
  });

  it('refuses bad media with a code each', () => {
    assert.equal(
      code(() => decodeIngestMessage(key('m'), doc({ media: { type: 'video/x-matroska', data: 'AAAA' } }))),
      'unsupported-media-type',
    );
    assert.equal(
      code(() => decodeIngestMessage(key('m'), doc({ media: { type: 'image/png' } }))),
      'invalid-media',
    );
    assert.equal(
      code(() => decodeIngestMessage(key('m'), doc({ media: { type: 'image/png', data: 'AAAA', uri: 'file:///x' } }))),
      'invalid-media',
    );
    assert.equal(
      code(() => decodeIngestMessage(key('m'), doc({ media: { type: 'image/png', data: 'not base64!' } }))),
      'invalid-media',
    );
    assert.equal(
      code(() => decodeIngestMessage(key('m'), doc({ media: { type: 'image/png', uri: 'ftp://host/x.png' } }))),
      'invalid-media',
    );
    assert.equal(
      code(() => decodeIngestMessage(key('m'), doc({ media: { type: 'image/png', data: 'AAAA', extra: 1 } }))),
      'invalid-media',
    );
    assert.equal(
      code(() =>
        decodeIngestMessage(key('m'), doc({ media: { type: 'image/png', data: 'A'.repeat(4 * 1001) } }), { mediaInlineMaxBytes: 3000 }),
      ),
      'media-too-large',
    );
    assert.equal(
      code(() => decodeIngestMessage(key('m'), doc({ text: '  ' }))),
      'empty-text',
    );
  });

  it('computes the decoded size of base64 without decoding it', () => {
    for (const bytes of [1, 2, 3, 4, 100, 1001]) assert.equal(base64Bytes(Buffer.alloc(bytes, 7).toString('base64')), bytes);
    assert.equal(validateMedia({ type: 'image/webp', data: Buffer.alloc(10).toString('base64') }, 10).modality, 'image');
  });

  it('parses queries by example and refuses two kinds at once', () => {
    const limits = { maxTopK: 10, replyChannelPrefix: 'ns:reply:' };
    const request = (query: unknown): ReturnType<typeof decodeSearchRequest> =>
      decodeSearchRequest(
        Buffer.from(JSON.stringify({ schemaVersion: 1, id: 'r', query, topK: 3, replyTo: 'ns:reply:c', deadline: 1 })),
        limits,
      );
    const image = request({ image: { data: 'AAAA' } });
    assert.ok(image.ok);
    assert.deepEqual(image.request.query, { image: { data: 'AAAA' } });
    const audio = request({ audio: { type: 'audio/ogg', uri: 'https://example.org/q.ogg' } });
    assert.ok(audio.ok);
    const both = request({ text: 'x', image: { data: 'AAAA' } });
    assert.ok(!both.ok && both.error.code === 'invalid-request');
    const wrong = request({ image: { type: 'audio/wav', data: 'AAAA' } });
    assert.ok(!wrong.ok && /not an image type/.test(wrong.error.message));
    // A video is indexed as frames and a soundtrack; a query by example is a frame (image) or a clip (audio).
    const video = request({ image: { type: 'video/mp4', data: 'AAAA' } });
    assert.ok(
      !video.ok && video.error.code === 'invalid-request' && /"video\/mp4" is not supported/.test(video.error.message),
      video.ok ? 'accepted' : video.error.message,
    );
    // A text request stays within 64 KiB; an inline medium may make it up to 1 MiB.
    const big = request({ image: { data: 'A'.repeat(400_000) } });
    assert.ok(big.ok);
    const bigText = decodeSearchRequest(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 1,
          id: 'r',
          query: { text: 'x' },
          topK: 3,
          replyTo: 'ns:reply:c',
          deadline: 1,
          filter: { must: [{ key: 'a', match: { any: Array.from({ length: 256 }, (_, i) => `${i}`.padEnd(300, 'x')) } }] },
        }),
      ),
      limits,
    );
    assert.ok(!bigText.ok && /the limit is 65536/.test(bigText.error.message), bigText.ok ? 'accepted' : bigText.error.message);
  });

  it('gives new collections image and audio vectors and reads them back with their models', () => {
    const layout = layoutFor(null);
    const params = collectionParams(getModelSpec('all-minilm-l6-v2'), layout);
    assert.deepEqual(params.vectors, {
      text: { size: 384, distance: 'Cosine' },
      image: { size: 1280, distance: 'Cosine' },
      audio: { size: 96, distance: 'Cosine' },
    });
    const read = layoutOf({ config: { params: { vectors: params.vectors } } });
    assert.ok(typeof read !== 'string');
    assert.equal(read.media?.image?.model.id, 'efficientnet-lite0');
    assert.equal(read.media?.audio?.model.id, 'speech-embedding');
    // A vector of a size no registry model has is not guessed at.
    const foreign = layoutOf({ config: { params: { vectors: { text: { size: 384 }, image: { size: 512 } } } } });
    assert.ok(typeof foreign !== 'string' && foreign.media === undefined);
  });
});
