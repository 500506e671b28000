import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeIngestMessage,
  decodeSearchRequest,
  keyOf,
  encodeDocument,
  encodeSearchRequest,
  ContractError,
  SEARCH_ERROR_CODES,
  type DecodedSearchRequest,
  type DocumentV1,
  type FilterCondition,
  type IngestMessage,
} from '../../../topology/index.ts';
import {
  applyMutation,
  DOCUMENT_PATHS,
  mutation,
  OVERSIZED_DOCUMENT,
  rawBytes,
  REQUEST_PATHS,
  validDocument,
  validRequest,
  wildValue,
  oddString,
} from '../../support/fuzz-inputs.ts';

// Property-based fuzzing of the two decoders that take bytes from any Kafka client: the ingest
// decoder and the search-request decoder. For every input the decoder returns a value that meets
// the README contract (checked here by an oracle written from the README, not from the decoder), or
// throws / returns its typed schema error: never another exception, never a prototype change.

const SCHEMA_ERROR_CODES = new Set([
  'invalid-json',
  'not-an-object',
  'missing-schema-version',
  'unsupported-schema-version',
  'missing-id',
  'invalid-id',
  'missing-key',
  'invalid-key',
  'key-mismatch',
  'empty-text',
  'oversized',
  'invalid-field',
]);
/** Codes a request decoder may give; the others are the consumer's (outages, handler failures). */
const REQUEST_ERROR_CODES = new Set<string>(SEARCH_ERROR_CODES.filter((c) => c !== 'internal' && c !== 'unavailable' && c !== 'expired'));
const PREFIX = 'fz:reply:';
const LIMITS = { maxTopK: 100, replyChannelPrefix: PREFIX };
const NOW = Date.UTC(2026, 0, 1);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2500);
const tried = { ingest: 0, search: 0 };

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s);
const isScalar = (v: unknown): boolean =>
  (typeof v === 'string' && wellFormed(v)) || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
const TENANT = /^[A-Za-z0-9_.-]{1,64}$/;
const METADATA_KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** The README's ingest contract, as an independent check of what the decoder let through. */
function assertContractDocument(doc: DocumentV1, key: string): void {
  assert.ok(isPlain(doc), 'a plain object');
  for (const k of Object.keys(doc))
    assert.ok(['schemaVersion', 'id', 'title', 'text', 'metadata', 'tenant'].includes(k), `known field ${k}`);
  assert.equal(doc.schemaVersion, 1);
  assert.ok(
    typeof doc.id === 'string' && doc.id.length >= 1 && doc.id.length <= 512 && doc.id.trim() === doc.id && wellFormed(doc.id),
    'id',
  );
  assert.equal(key, `${doc.tenant ?? 'default'}/${doc.id}`, 'the key is <tenant>/<id> of the document');
  for (const f of ['title', 'text'] as const) assert.ok(doc[f] === undefined || (typeof doc[f] === 'string' && wellFormed(doc[f])), f);
  assert.ok((doc.title ?? '').trim() !== '' || (doc.text ?? '').trim() !== '', 'title or text');
  assert.ok(doc.tenant === undefined || (typeof doc.tenant === 'string' && TENANT.test(doc.tenant)), 'tenant');
  if (doc.metadata !== undefined) {
    assert.ok(isPlain(doc.metadata), 'metadata is a plain object');
    const entries = Object.entries(doc.metadata);
    assert.ok(entries.length <= 64);
    for (const [k, v] of entries) {
      assert.ok(METADATA_KEY.test(k), `metadata key ${k}`);
      assert.ok(Array.isArray(v) ? v.every(isScalar) : isScalar(v), `metadata.${k}`);
    }
  }
}

function checkIngest(key: Buffer | null, value: Buffer | null): void {
  tried.ingest++;
  let result: IngestMessage;
  try {
    result = decodeIngestMessage(key, value);
  } catch (error) {
    assert.ok(
      error instanceof ContractError,
      `only ContractError, got ${(error as Error)?.name}: ${(error as Error)?.message?.slice(0, 200)}`,
    );
    assert.ok(SCHEMA_ERROR_CODES.has(error.code), `known code ${error.code}`);
    assert.equal(error.retriable, false);
    return;
  }
  assert.ok(key !== null, 'a record without a key is never accepted');
  if (result.kind === 'delete') {
    assert.equal(value, null, 'only a null value deletes');
    assert.ok(TENANT.test(result.tenant), 'tenant');
    assert.ok(result.id.length > 0 && result.id.length <= 512 && result.id.trim() === result.id, 'id');
    assert.ok(key.equals(Buffer.from(`${result.tenant}/${result.id}`)), 'the key is <tenant>/<id>, split at its first "/"');
    return;
  }
  assert.equal(result.kind, 'upsert');
  assert.equal(result.id, result.document.id);
  assert.equal(result.tenant, result.document.tenant ?? 'default');
  assertContractDocument(result.document, key.toString('utf8'));
}

/** The README's request contract, as an independent check. */
function checkSearch(value: Buffer | null): DecodedSearchRequest {
  tried.search++;
  const result = decodeSearchRequest(value, LIMITS);
  if (!result.ok) {
    assert.ok(result.error instanceof ContractError, 'a ContractError');
    assert.ok(REQUEST_ERROR_CODES.has(result.error.code), `decoder code ${result.error.code}`);
    assert.ok(result.id === null || (typeof result.id === 'string' && result.id.length >= 1 && result.id.length <= 128), 'salvaged id');
    assert.ok(
      result.replyTo === null || (result.replyTo.startsWith(PREFIX) && result.replyTo.length <= 256 && !/\s/.test(result.replyTo)),
      'salvaged replyTo',
    );
    return result;
  }
  const r = result.request;
  assert.ok(isPlain(r));
  assert.equal(r.schemaVersion, 1);
  assert.ok(r.id.length >= 1 && r.id.length <= 128 && r.id.trim() === r.id, 'id');
  const q = r.query;
  assert.ok(
    isPlain(q) &&
      (!('text' in q) || (Object.keys(q).join() === 'text' && q.text.trim() !== '' && q.text.length <= 4096 && wellFormed(q.text))),
    'query',
  );
  assert.ok(Number.isInteger(r.topK) && r.topK >= 1 && r.topK <= LIMITS.maxTopK, 'topK');
  assert.ok(Number.isSafeInteger(r.deadline) && r.deadline > 0, 'deadline');
  assert.ok(r.replyTo.startsWith(PREFIX) && r.replyTo.length <= 256 && !/\s/.test(r.replyTo), 'replyTo');
  assert.ok(r.tenant === undefined || TENANT.test(r.tenant), 'tenant');
  if (r.filter !== undefined) {
    assert.ok(isPlain(r.filter));
    let total = 0;
    for (const [clause, conditions] of Object.entries(r.filter)) {
      assert.ok(['must', 'should', 'mustNot'].includes(clause), `clause ${clause}`);
      assert.ok(Array.isArray(conditions));
      total += conditions.length;
      for (const c of conditions as FilterCondition[]) {
        assert.ok(isPlain(c) && METADATA_KEY.test(c.key), 'condition key');
        if ('match' in c) {
          const m = c.match;
          if ('value' in m)
            assert.ok(
              (typeof m.value === 'string' && wellFormed(m.value)) || typeof m.value === 'boolean' || Number.isSafeInteger(m.value),
              'match.value',
            );
          else
            assert.ok(
              m.any.length >= 1 &&
                m.any.length <= 256 &&
                ((m.any as unknown[]).every((x) => typeof x === 'string' && wellFormed(x)) ||
                  (m.any as unknown[]).every((x) => Number.isSafeInteger(x))),
              'match.any',
            );
        } else {
          const bounds = Object.entries(c.range);
          assert.ok(bounds.length >= 1 && bounds.every(([b, v]) => ['gt', 'gte', 'lt', 'lte'].includes(b) && Number.isFinite(v)), 'range');
        }
      }
    }
    assert.ok(total <= 32, 'at most 32 conditions');
  }
  return result;
}

/** Object.prototype as it was: a decoder that pollutes it fails every later check. */
const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort().join();
function assertNoPollution(): void {
  assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(), prototypeBefore, 'Object.prototype unchanged');
  assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'no inherited "polluted"');
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
}

const keyBytes: fc.Arbitrary<Buffer | null> = fc.oneof(
  fc.constant(null),
  oddString.map((s) => Buffer.from(s, 'utf8')),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
);

describe('ingest decoder under adversarial input', () => {
  after(() => process.stderr.write(`ingest decoder: ${tried.ingest} inputs tried\n`));

  it('raw bytes, any key: a contract document or a ContractError', () => {
    fc.assert(
      fc.property(keyBytes, fc.option(rawBytes, { freq: 20 }), (key, value) =>
        checkIngest(key, value === null ? null : Buffer.from(value)),
      ),
      { numRuns: RUNS },
    );
    assertNoPollution();
  });

  it('any JSON value as the envelope', () => {
    fc.assert(
      fc.property(keyBytes, wildValue, (key, value) => checkIngest(key, Buffer.from(JSON.stringify(value) ?? 'null'))),
      { numRuns: RUNS },
    );
    assertNoPollution();
  });

  it('a valid document with one field made adversarial (numbers at their limits, deep nesting, huge strings, __proto__)', () => {
    fc.assert(
      fc.property(validDocument, mutation(DOCUMENT_PATHS), fc.boolean(), (doc, m, withKey) => {
        // The key of the document before its mutation: what a client would have keyed it with.
        checkIngest(
          withKey ? Buffer.from(`${typeof doc.tenant === 'string' ? doc.tenant : 'default'}/${String(doc.id)}`) : null,
          Buffer.from(applyMutation(doc, m), 'utf8'),
        );
      }),
      { numRuns: RUNS * 2 },
    );
    assertNoPollution();
  });

  it('valid documents round-trip: encodeDocument then decode gives the same document', () => {
    fc.assert(
      fc.property(validDocument, (doc) => {
        tried.ingest++;
        const { schemaVersion: _, ...input } = doc as unknown as DocumentV1;
        const decoded = decodeIngestMessage(Buffer.from(keyOf(input)), encodeDocument(input));
        assert.equal(decoded.kind, 'upsert');
        assert.deepEqual(decoded.kind === 'upsert' ? decoded.document : undefined, JSON.parse(JSON.stringify(doc)));
      }),
      { numRuns: RUNS / 4 },
    );
  });

  it('what encodeDocument (and so IngestProducer) accepts, the consumer accepts under its <tenant>/<id> key', () => {
    fc.assert(
      fc.property(validDocument, fc.record({ id: oddString, title: oddString, text: oddString }, { requiredKeys: [] }), (base, odd) => {
        tried.ingest++;
        const { schemaVersion: _, ...input } = { ...base, ...odd } as unknown as DocumentV1;
        let bytes: Buffer;
        try {
          bytes = encodeDocument(input);
        } catch (error) {
          assert.ok(error instanceof ContractError, `encodeDocument throws only ContractError, got ${(error as Error).name}`);
          return;
        }
        const decoded = decodeIngestMessage(Buffer.from(keyOf(input), 'utf8'), bytes);
        assert.equal(decoded.kind, 'upsert');
      }),
      { numRuns: RUNS },
    );
  });

  it('limits: a value over 1 MiB, tombstones with and without a key', () => {
    checkIngest(Buffer.from('default/k'), OVERSIZED_DOCUMENT());
    assert.throws(
      () => decodeIngestMessage(Buffer.from('default/k'), OVERSIZED_DOCUMENT()),
      (e: unknown) => e instanceof ContractError && e.code === 'oversized',
    );
    assert.throws(
      () => decodeIngestMessage(null, null),
      (e: unknown) => e instanceof ContractError && e.code === 'missing-key',
    );
    assert.throws(
      () => decodeIngestMessage(Buffer.from('doc-1'), null),
      (e: unknown) => e instanceof ContractError && e.code === 'invalid-key',
    );
    assert.deepEqual(decodeIngestMessage(Buffer.from('default/doc-1'), null), { kind: 'delete', tenant: 'default', id: 'doc-1' });
  });

  it('__proto__ and constructor keys stay plain data', () => {
    const text = '{"schemaVersion":1,"id":"p","text":"t","metadata":{"__proto__":"x","constructor":"y"}}';
    const decoded = decodeIngestMessage(Buffer.from('default/p'), Buffer.from(text));
    assert.equal(decoded.kind, 'upsert');
    if (decoded.kind === 'upsert') {
      assert.equal(Object.getPrototypeOf(decoded.document.metadata), Object.prototype);
      assert.deepEqual(Object.keys(decoded.document.metadata ?? {}), ['__proto__', 'constructor']);
    }
    assert.throws(
      () =>
        decodeIngestMessage(Buffer.from('default/p'), Buffer.from('{"__proto__":{"polluted":1},"schemaVersion":1,"id":"p","text":"t"}')),
      ContractError,
    );
    assertNoPollution();
  });
});

describe('search-request decoder under adversarial input', () => {
  after(() => process.stderr.write(`search-request decoder: ${tried.search} inputs tried\n`));

  it('raw bytes: a contract request or a ContractError, never a throw', () => {
    fc.assert(
      fc.property(fc.option(rawBytes, { freq: 20 }), (value) => void checkSearch(value === null ? null : Buffer.from(value))),
      { numRuns: RUNS },
    );
    assertNoPollution();
  });

  it('any JSON value as the request', () => {
    fc.assert(
      fc.property(wildValue, (value) => void checkSearch(Buffer.from(JSON.stringify(value) ?? 'null'))),
      { numRuns: RUNS },
    );
    assertNoPollution();
  });

  it('a valid request with one field made adversarial', () => {
    fc.assert(
      fc.property(
        validRequest(PREFIX, NOW),
        mutation(REQUEST_PATHS),
        (request, m) => void checkSearch(Buffer.from(applyMutation(request, m), 'utf8')),
      ),
      { numRuns: RUNS * 2 },
    );
    assertNoPollution();
  });

  it('valid requests round-trip: encodeSearchRequest then decode gives the same request', () => {
    fc.assert(
      fc.property(validRequest(PREFIX, NOW), (request) => {
        const { schemaVersion: _, ...input } = request;
        const result = checkSearch(encodeSearchRequest(input as Parameters<typeof encodeSearchRequest>[0]));
        assert.ok(result.ok, result.ok ? '' : `${result.error.code}: ${result.error.message}`);
        assert.deepEqual(result.request, JSON.parse(JSON.stringify(request)));
      }),
      { numRuns: RUNS / 4 },
    );
  });
});
