import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_DOCUMENT_BYTES, SchemaError, decodeIngestMessage, encodeDocument } from '../../../topology/index.ts';

const buf = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SchemaError, `expected SchemaError, got ${String(error)}`);
    assert.equal(error.retriable, false);
    return error.code;
  }
  assert.fail('expected a SchemaError');
}

describe('decodeIngestMessage', () => {
  it('decodes a valid envelope', () => {
    const message = decodeIngestMessage(buf('d1'), buf({ schemaVersion: 1, id: 'd1', title: 'T', text: 'body', metadata: { lang: 'en', year: 2024, tags: ['a', 'b'] }, tenant: 'acme' }));
    assert.equal(message.kind, 'upsert');
    assert.equal(message.id, 'd1');
    assert.deepEqual(message.kind === 'upsert' && message.document.metadata, { lang: 'en', year: 2024, tags: ['a', 'b'] });
  });

  it('turns a null value into a delete of the key', () => {
    assert.deepEqual(decodeIngestMessage(buf('d1'), null), { kind: 'delete', id: 'd1' });
  });

  it('rejects each kind of poison with its own code', () => {
    assert.equal(codeOf(() => decodeIngestMessage(null, null)), 'missing-id');
    assert.equal(codeOf(() => decodeIngestMessage(buf('k'), buf('{not json'))), 'invalid-json');
    assert.equal(codeOf(() => decodeIngestMessage(buf('k'), buf('[1,2]'))), 'not-an-object');
    assert.equal(codeOf(() => decodeIngestMessage(buf('k'), buf({ id: 'k', text: 'x' }))), 'missing-schema-version');
    assert.equal(codeOf(() => decodeIngestMessage(buf('k'), buf({ schemaVersion: 2, id: 'k', text: 'x' }))), 'unsupported-schema-version');
    assert.equal(codeOf(() => decodeIngestMessage(buf('k'), buf({ schemaVersion: 1, text: 'x' }))), 'missing-id');
    assert.equal(codeOf(() => decodeIngestMessage(buf('k'), buf({ schemaVersion: 1, id: 7, text: 'x' }))), 'invalid-id');
    assert.equal(codeOf(() => decodeIngestMessage(buf('k'), buf({ schemaVersion: 1, id: 'other', text: 'x' }))), 'key-mismatch');
    assert.equal(codeOf(() => decodeIngestMessage(buf('k'), buf({ schemaVersion: 1, id: 'k', text: '  ', title: '' }))), 'empty-text');
    assert.equal(codeOf(() => decodeIngestMessage(buf('k'), buf({ schemaVersion: 1, id: 'k', text: 'x', extra: 1 }))), 'invalid-field');
    assert.equal(codeOf(() => decodeIngestMessage(buf('k'), buf({ schemaVersion: 1, id: 'k', text: 'x', metadata: { nested: { a: 1 } } }))), 'invalid-field');
    assert.equal(codeOf(() => decodeIngestMessage(buf('k'), buf({ schemaVersion: 1, id: 'k', text: 'x', tenant: 'a b' }))), 'invalid-field');
    assert.equal(codeOf(() => decodeIngestMessage(buf('k'), Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 'a'))), 'oversized');
  });

  it('round-trips what encodeDocument writes', () => {
    const bytes = encodeDocument({ id: 'x', text: 'hello' });
    assert.deepEqual(decodeIngestMessage(buf('x'), bytes), { kind: 'upsert', id: 'x', document: { schemaVersion: 1, id: 'x', text: 'hello' } });
    assert.equal(codeOf(() => encodeDocument({ id: 'x', text: '' })), 'empty-text');
  });
});
