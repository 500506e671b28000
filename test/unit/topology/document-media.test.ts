import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeIngestMessage,
  decodeSearchRequest,
  documentFormatOf,
  loadConfig,
  mediaKindOf,
  ContractError,
  validateDocumentMedia,
} from '../../../topology/index.ts';

const key = Buffer.from('default/d');
const doc = (media: unknown): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 1, id: 'd', media }));
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

describe('document files in the contracts', () => {
  it('accepts PDF, DOCX, HTML, Markdown and plain-text files as a document medium, inline or by uri', () => {
    for (const type of ['application/pdf', DOCX, 'text/html; charset=utf-8', 'application/xhtml+xml', 'text/markdown', 'TEXT/PLAIN']) {
      const message = decodeIngestMessage(key, doc({ type, uri: 'file:///docs/x' }));
      assert.equal(message.kind === 'upsert' && message.document.media?.type, type);
      assert.equal(mediaKindOf(type), 'document');
    }
    assert.equal(validateDocumentMedia({ type: 'application/pdf', data: 'JVBERi0=' }, 100).kind, 'document');
    assert.equal(validateDocumentMedia({ type: 'image/png', data: 'AAAA' }, 100).kind, 'image');
    assert.deepEqual(['application/pdf', DOCX, 'text/html', 'text/markdown', 'text/plain', 'application/msword'].map(documentFormatOf), [
      'pdf',
      'docx',
      'html',
      'markdown',
      'plain',
      undefined,
    ]);
  });

  it('refuses other document types (legacy .doc, RTF) as unsupported-media-type, naming what is supported', () => {
    for (const type of ['application/msword', 'application/rtf']) {
      assert.throws(
        () => decodeIngestMessage(key, doc({ type, data: 'AAAA' })),
        (error: unknown) =>
          error instanceof ContractError && error.code === 'unsupported-media-type' && /application\/pdf/.test(error.message),
      );
    }
  });

  it('refuses a document file as a query by example: queries are text, an image or a clip', () => {
    const limits = { maxTopK: 10, replyChannelPrefix: 'ns:reply:' };
    const reply = decodeSearchRequest(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 1,
          id: 'r',
          query: { image: { type: 'application/pdf', data: 'AAAA' } },
          topK: 3,
          replyTo: 'ns:reply:c',
          deadline: 1,
        }),
      ),
      limits,
    );
    assert.ok(!reply.ok && reply.error.code === 'invalid-request' && /not supported/.test(reply.error.message));
  });
});

describe('OCR settings', () => {
  it('are on with a 70 confidence floor by default, and validated', () => {
    assert.deepEqual(loadConfig({}).media.ocr, { enabled: true, minConfidence: 70 });
    assert.deepEqual(loadConfig({ SEARCHBUS_OCR_IMAGES: 'false', SEARCHBUS_OCR_MIN_CONFIDENCE: '55' }).media.ocr, {
      enabled: false,
      minConfidence: 55,
    });
    assert.throws(() => loadConfig({ SEARCHBUS_OCR_MIN_CONFIDENCE: '101' }), /SEARCHBUS_OCR_MIN_CONFIDENCE/);
    assert.throws(() => loadConfig({ SEARCHBUS_OCR_IMAGES: 'sometimes' }), /SEARCHBUS_OCR_IMAGES/);
  });
});
