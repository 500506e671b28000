import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TENANT, MAX_ID_LENGTH, ContractError, documentKey, keyOf, parseDocumentKey } from '../../../topology/index.ts';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ContractError, `expected ContractError, got ${String(error)}`);
    return error.code;
  }
  assert.fail('expected a ContractError');
}

describe('document key', () => {
  it('is "<tenant>/<id>" for every tenant, the default one included', () => {
    assert.equal(documentKey('acme', 'report-1'), 'acme/report-1');
    assert.equal(documentKey(DEFAULT_TENANT, 'report-1'), 'default/report-1');
    assert.equal(keyOf({ id: 'report-1' }), 'default/report-1');
    assert.equal(
      keyOf({ id: 'report-1', tenant: 'default' }),
      'default/report-1',
      'one key per identity: absent and "default" are the same tenant',
    );
    assert.equal(keyOf({ id: 'report-1', tenant: 'b' }), 'b/report-1');
  });

  it('splits at the first "/": ids may contain "/", tenants may not', () => {
    assert.deepEqual(parseDocumentKey(Buffer.from('acme/reports/2024/q1')), { tenant: 'acme', id: 'reports/2024/q1' });
    assert.deepEqual(parseDocumentKey('a.b_c-9/x'), { tenant: 'a.b_c-9', id: 'x' });
    assert.deepEqual(parseDocumentKey(Buffer.from('t/é ü ✓')), { tenant: 't', id: 'é ü ✓' });
  });

  it('round-trips every identity', () => {
    for (const [tenant, id] of [
      ['default', 'x'],
      ['a', 'b/c'],
      ['t', '/leading-slash'],
      ['t', 'trailing/'],
      ['t', 'x'.repeat(MAX_ID_LENGTH)],
      ['t', '#1'],
    ] as const) {
      assert.deepEqual(parseDocumentKey(Buffer.from(documentKey(tenant, id))), { tenant, id });
    }
  });

  it('refuses a key that is not "<tenant>/<id>", with its own code', () => {
    assert.equal(
      codeOf(() => parseDocumentKey(null)),
      'missing-key',
    );
    assert.equal(
      codeOf(() => parseDocumentKey(Buffer.alloc(0))),
      'missing-key',
    );
    assert.equal(
      codeOf(() => parseDocumentKey(Buffer.from('report-1'))),
      'invalid-key',
      'a bare id (the key before tenants) has no tenant',
    );
    assert.equal(
      codeOf(() => parseDocumentKey(Buffer.from('/report-1'))),
      'invalid-key',
      'empty tenant',
    );
    assert.equal(
      codeOf(() => parseDocumentKey(Buffer.from('acme/'))),
      'invalid-key',
      'empty id',
    );
    assert.equal(
      codeOf(() => parseDocumentKey(Buffer.from('a b/x'))),
      'invalid-key',
      'tenant outside its pattern',
    );
    assert.equal(
      codeOf(() => parseDocumentKey(Buffer.from(`${'t'.repeat(65)}/x`))),
      'invalid-key',
      'tenant too long',
    );
    assert.equal(
      codeOf(() => parseDocumentKey(Buffer.from('acme/ x'))),
      'invalid-key',
      'id with surrounding spaces',
    );
    assert.equal(
      codeOf(() => parseDocumentKey(Buffer.from(`acme/${'x'.repeat(MAX_ID_LENGTH + 1)}`))),
      'invalid-key',
      'id too long',
    );
    assert.equal(
      codeOf(() => parseDocumentKey(Buffer.from([0x61, 0x2f, 0xff, 0xfe]))),
      'invalid-key',
      'not UTF-8',
    );
    assert.equal(
      codeOf(() => documentKey('a/b', 'x')),
      'invalid-key',
    );
    assert.equal(
      codeOf(() => documentKey('a', ' x')),
      'invalid-key',
    );
    assert.equal(
      codeOf(() => documentKey('a', 'x\uD800')),
      'invalid-key',
      'a lone surrogate has no UTF-8 key',
    );
  });

  it('says what a bare id should have been', () => {
    assert.throws(() => parseDocumentKey(Buffer.from('report-1')), /must be <tenant>\/<id>, e\.g\. "default\/report-1"/);
  });
});
