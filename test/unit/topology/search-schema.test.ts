import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeSearchReply,
  decodeSearchRequest,
  encodeSearchRequest,
  MAX_FILTER_CONDITIONS,
  parseSearchFilter,
  parseSearchRequest,
  ContractError,
  type DecodedSearchRequest,
} from '../../../topology/index.ts';

const limits = { maxTopK: 100, replyChannelPrefix: 'ns:reply:' };
const valid = { schemaVersion: 1, id: 'r1', query: { text: 'stars' }, topK: 10, replyTo: 'ns:reply:c1', deadline: 1_900_000_000_000 };

function errorOf(result: DecodedSearchRequest): { code: string; message: string; id: string | null; replyTo: string | null } {
  assert.equal(result.ok, false, 'expected the request to be refused');
  if (result.ok) throw new Error('unreachable');
  return { code: result.error.code, message: result.error.message, id: result.id, replyTo: result.replyTo };
}

describe('search request decoding', () => {
  it('round-trips a full request', () => {
    const request = { ...valid, filter: { must: [{ key: 'lang', match: { value: 'en' } }] }, tenant: 'acme' };
    const { schemaVersion: _v, ...body } = request;
    const result = decodeSearchRequest(encodeSearchRequest(body), limits);
    assert.deepEqual(result, { ok: true, request });
  });

  it('takes a mode of dense, sparse or hybrid, and refuses any other with invalid-mode', () => {
    for (const mode of ['dense', 'sparse', 'hybrid'] as const) {
      const result = parseSearchRequest({ ...valid, mode }, limits);
      assert.ok(result.ok && result.request.mode === mode);
    }
    const absent = parseSearchRequest(valid, limits);
    assert.ok(absent.ok && !('mode' in absent.request), 'no mode: the collection decides');
    for (const mode of ['Hybrid', 'bm25', 1, null])
      assert.equal(errorOf(parseSearchRequest({ ...valid, mode }, limits)).code, 'invalid-mode');
  });

  it('takes a code query of a known language, and names what is wrong with any other', () => {
    const code = { text: 'def f(x):\n    return x', language: 'python' };
    const ok = parseSearchRequest({ ...valid, query: { code } }, limits);
    assert.ok(ok.ok && 'code' in ok.request.query && ok.request.query.code.language === 'python');
    assert.match(
      errorOf(parseSearchRequest({ ...valid, query: { code: { ...code, language: 'cobol' } } }, limits)).message,
      /query\.code\.language must be one of typescript/,
    );
    assert.equal(errorOf(parseSearchRequest({ ...valid, query: { code: { ...code, text: ' ' } } }, limits)).code, 'empty-query');
    assert.equal(errorOf(parseSearchRequest({ ...valid, query: { code: 'def f(): pass' } }, limits)).code, 'invalid-request');
    assert.equal(
      errorOf(parseSearchRequest({ ...valid, query: { code: { ...code, text: 'x'.repeat(40_000) } } }, limits)).code,
      'invalid-request',
    );
  });

  it('refuses bytes that are not JSON with invalid-json', () => {
    assert.equal(errorOf(decodeSearchRequest(Buffer.from('{"id": '), limits)).code, 'invalid-json');
    assert.equal(errorOf(decodeSearchRequest(null, limits)).code, 'invalid-json');
  });

  it('names the problem and keeps id and replyTo so the sender can be told', () => {
    const e = errorOf(parseSearchRequest({ ...valid, query: { text: '   ' } }, limits));
    assert.deepEqual([e.code, e.id, e.replyTo], ['empty-query', 'r1', 'ns:reply:c1']);
  });

  for (const topK of [0, -1, 101, 2.5, '10', null]) {
    it(`refuses topK ${JSON.stringify(topK)} with invalid-top-k`, () => {
      assert.equal(errorOf(parseSearchRequest({ ...valid, topK }, limits)).code, 'invalid-top-k');
    });
  }

  it('accepts topK at both ends of the range', () => {
    assert.equal(parseSearchRequest({ ...valid, topK: 1 }, limits).ok, true);
    assert.equal(parseSearchRequest({ ...valid, topK: 100 }, limits).ok, true);
  });

  const invalidRequests: Array<[string, Record<string, unknown>]> = [
    ['a wrong schema version', { ...valid, schemaVersion: 2 }],
    ['an unknown field', { ...valid, extra: true }],
    ['a reply channel outside the prefix', { ...valid, replyTo: 'other:channel' }],
    ['a missing deadline', { ...valid, deadline: undefined }],
    ['a tenant with spaces', { ...valid, tenant: 'a b' }],
    ['query as a string', { ...valid, query: 'stars' }],
    ['an extra query field', { ...valid, query: { text: 'x', vector: [1] } }],
    ['an empty id', { ...valid, id: '' }],
  ];
  for (const [what, request] of invalidRequests) {
    it(`refuses ${what} with invalid-request`, () => {
      assert.equal(errorOf(parseSearchRequest(request, limits)).code, 'invalid-request');
    });
  }

  it('does not salvage a reply channel outside the prefix', () => {
    assert.equal(errorOf(parseSearchRequest({ ...valid, replyTo: 'x' }, limits)).replyTo, null);
  });

  it('treats a null filter as none', () => {
    const result = parseSearchRequest({ ...valid, filter: null }, limits);
    assert.equal(result.ok && result.request.filter, undefined);
  });
});

describe('search filter language', () => {
  it('accepts match value, match any and range on metadata keys', () => {
    const filter = {
      must: [{ key: 'year', range: { gte: 2000, lt: 2010.5 } }],
      should: [
        { key: 'lang', match: { any: ['en', 'de'] } },
        { key: 'n', match: { any: [1, 2] } },
      ],
      mustNot: [{ key: 'draft', match: { value: true } }],
    };
    assert.deepEqual(parseSearchFilter(filter), filter);
  });

  const refused: Array<[string, unknown]> = [
    ['an unknown operator', { must: [{ key: 'a', exists: true }] }],
    ['a raw Qdrant operator', { must: [{ key: 'a', match: { text: 'x' } }] }],
    ['two operators in one condition', { must: [{ key: 'a', match: { value: 1 }, range: { gt: 0 } }] }],
    ['no operator', { must: [{ key: 'a' }] }],
    ['a dotted key', { must: [{ key: 'a.b', match: { value: 1 } }] }],
    ['a nested filter', { must: [{ must: [{ key: 'a', match: { value: 1 } }] }] }],
    ['a has_id condition', { must: [{ has_id: ['x'] }] }],
    ['an unknown clause', { must_not: [] }],
    ['a min_should clause', { min_should: { conditions: [], min_count: 1 } }],
    ['a float match value', { must: [{ key: 'a', match: { value: 1.5 } }] }],
    ['mixed any values', { must: [{ key: 'a', match: { any: ['x', 1] } }] }],
    ['an empty any', { must: [{ key: 'a', match: { any: [] } }] }],
    ['an unknown range bound', { must: [{ key: 'a', range: { gt: 1, near: 2 } }] }],
    ['a string range bound', { must: [{ key: 'a', range: { gt: '1' } }] }],
    ['an empty range', { must: [{ key: 'a', range: {} }] }],
    ['a clause that is not an array', { must: { key: 'a', match: { value: 1 } } }],
    ['an array filter', [{ key: 'a', match: { value: 1 } }]],
    ['too many conditions', { must: Array.from({ length: MAX_FILTER_CONDITIONS + 1 }, () => ({ key: 'a', match: { value: 1 } })) }],
  ];
  for (const [what, filter] of refused) {
    it(`refuses ${what} with invalid-filter`, () => {
      assert.throws(
        () => parseSearchFilter(filter),
        (e: unknown) => e instanceof ContractError && e.code === 'invalid-filter',
      );
      assert.equal(errorOf(parseSearchRequest({ ...valid, filter }, limits)).code, 'invalid-filter');
    });
  }
});

describe('search reply decoding', () => {
  it('reads hits and error replies', () => {
    const hits = { schemaVersion: 1, id: 'a', hits: [], model: 'm', tookMs: 1 };
    assert.deepEqual(decodeSearchReply(JSON.stringify(hits)), hits);
    const error = { schemaVersion: 1, id: 'a', error: { code: 'empty-query', message: 'x' } };
    assert.deepEqual(decodeSearchReply(JSON.stringify(error)), error);
  });

  it('refuses replies without the fields a client relies on', () => {
    assert.throws(() => decodeSearchReply('nope'), ContractError);
    assert.throws(() => decodeSearchReply(JSON.stringify({ schemaVersion: 1, id: 'a' })), ContractError);
    assert.throws(() => decodeSearchReply(JSON.stringify({ id: 'a', hits: [], model: 'm', tookMs: 1 })), ContractError);
  });
});
