import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_DOCUMENT_BYTES, ContractError, decodeIngestMessage, encodeDocument } from '../../../topology/index.ts';

const buf = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ContractError, `expected ContractError, got ${String(error)}`);
    assert.equal(error.retriable, false);
    return error.code;
  }
  assert.fail('expected a ContractError');
}

describe('decodeIngestMessage', () => {
  it('decodes a valid envelope', () => {
    const message = decodeIngestMessage(
      buf('acme/d1'),
      buf({ schemaVersion: 1, id: 'd1', title: 'T', text: 'body', metadata: { lang: 'en', year: 2024, tags: ['a', 'b'] }, tenant: 'acme' }),
    );
    assert.equal(message.kind, 'upsert');
    assert.equal(message.id, 'd1');
    assert.equal(message.tenant, 'acme');
    assert.deepEqual(message.kind === 'upsert' && message.document.metadata, { lang: 'en', year: 2024, tags: ['a', 'b'] });
  });

  it('gives a document without a tenant the default tenant, keyed default/<id>', () => {
    const message = decodeIngestMessage(buf('default/d1'), buf({ schemaVersion: 1, id: 'd1', text: 'body' }));
    assert.deepEqual({ kind: message.kind, tenant: message.tenant, id: message.id }, { kind: 'upsert', tenant: 'default', id: 'd1' });
    assert.equal(
      decodeIngestMessage(buf('default/d1'), buf({ schemaVersion: 1, id: 'd1', text: 'body', tenant: 'default' })).tenant,
      'default',
    );
  });

  it('takes an id containing "/" whole, after the tenant', () => {
    const message = decodeIngestMessage(
      buf('acme/reports/2024/q1'),
      buf({ schemaVersion: 1, id: 'reports/2024/q1', tenant: 'acme', text: 'body' }),
    );
    assert.deepEqual({ tenant: message.tenant, id: message.id }, { tenant: 'acme', id: 'reports/2024/q1' });
  });

  it('parses a tombstone (null value) from its key alone: (tenant, id)', () => {
    assert.deepEqual(decodeIngestMessage(buf('acme/d1'), null), { kind: 'delete', tenant: 'acme', id: 'd1' });
    assert.deepEqual(decodeIngestMessage(buf('default/d1'), null), { kind: 'delete', tenant: 'default', id: 'd1' });
    assert.deepEqual(decodeIngestMessage(buf('a/b/c'), null), { kind: 'delete', tenant: 'a', id: 'b/c' });
  });

  it('dead-letters a tombstone whose key cannot be parsed', () => {
    assert.equal(
      codeOf(() => decodeIngestMessage(null, null)),
      'missing-key',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf(''), null)),
      'missing-key',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('d1'), null)),
      'invalid-key',
      'a bare id from before tenants',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('no tenant!/d1'), null)),
      'invalid-key',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('acme/'), null)),
      'invalid-key',
    );
  });

  it("dead-letters an upsert whose key is not its document's key, naming the expected key", () => {
    const doc = { schemaVersion: 1, id: 'report-1', tenant: 'a', text: 'x' };
    const mismatch = (key: Buffer | null, value: unknown): ContractError => {
      try {
        decodeIngestMessage(key, buf(value));
      } catch (error) {
        assert.ok(error instanceof ContractError);
        return error;
      }
      assert.fail('expected a ContractError');
    };
    const otherTenant = mismatch(buf('b/report-1'), doc);
    assert.equal(otherTenant.code, 'key-mismatch');
    assert.match(otherTenant.message, /key "b\/report-1" differs from the document's key "a\/report-1"/);
    assert.equal(mismatch(buf('a/report-2'), doc).code, 'key-mismatch');
    assert.equal(mismatch(buf('a/report-1 '), doc).code, 'key-mismatch');
    assert.equal(mismatch(buf('A/report-1'), doc).code, 'key-mismatch', 'tenants are case-sensitive');
    const defaultTenant = mismatch(buf('x/report-1'), { schemaVersion: 1, id: 'report-1', text: 'x' });
    assert.match(defaultTenant.message, /"default\/report-1"/);
    const legacy = mismatch(buf('report-1'), doc);
    assert.equal(legacy.code, 'key-mismatch');
    assert.match(legacy.message, /"a\/report-1".*bare id/);
    assert.equal(mismatch(null, doc).code, 'missing-key');
    assert.equal(mismatch(buf(''), doc).code, 'missing-key');
  });

  it('rejects each kind of poison with its own code', () => {
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), buf('{not json'))),
      'invalid-json',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), buf('[1,2]'))),
      'not-an-object',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), buf({ id: 'k', text: 'x' }))),
      'missing-schema-version',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), buf({ schemaVersion: 2, id: 'k', text: 'x' }))),
      'unsupported-schema-version',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), buf({ schemaVersion: 1, text: 'x' }))),
      'missing-id',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), buf({ schemaVersion: 1, id: 7, text: 'x' }))),
      'invalid-id',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), buf({ schemaVersion: 1, id: 'other', text: 'x' }))),
      'key-mismatch',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), buf({ schemaVersion: 1, id: 'k', tenant: 'other', text: 'x' }))),
      'key-mismatch',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), buf({ schemaVersion: 1, id: 'k', text: '  ', title: '' }))),
      'empty-text',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), buf({ schemaVersion: 1, id: 'k', text: 'x', extra: 1 }))),
      'invalid-field',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), buf({ schemaVersion: 1, id: 'k', text: 'x', metadata: { nested: { a: 1 } } }))),
      'invalid-field',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), buf({ schemaVersion: 1, id: 'k', text: 'x', tenant: 'a b' }))),
      'invalid-field',
    );
    assert.equal(
      codeOf(() => decodeIngestMessage(buf('default/k'), Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 'a'))),
      'oversized',
    );
  });

  it('round-trips what encodeDocument writes', () => {
    const bytes = encodeDocument({ id: 'x', text: 'hello' });
    assert.deepEqual(decodeIngestMessage(buf('default/x'), bytes), {
      kind: 'upsert',
      tenant: 'default',
      id: 'x',
      document: { schemaVersion: 1, id: 'x', text: 'hello' },
    });
    assert.equal(
      codeOf(() => encodeDocument({ id: 'x', text: '' })),
      'empty-text',
    );
  });
});
