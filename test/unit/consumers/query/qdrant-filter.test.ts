import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toQdrantFilter } from '../../../../consumers/query/index.ts';
import { DEFAULT_TENANT } from '../../../../topology/index.ts';

describe('toQdrantFilter', () => {
  it('always starts the top-level must with the tenant, the default one when none is given', () => {
    assert.deepEqual(toQdrantFilter(undefined, undefined), { must: [{ key: 'tenant', match: { value: DEFAULT_TENANT } }] });
    assert.deepEqual(toQdrantFilter({}, 'acme'), { must: [{ key: 'tenant', match: { value: 'acme' } }] });
  });

  it('maps every user condition under metadata., keeping clauses', () => {
    const filter = toQdrantFilter(
      {
        must: [{ key: 'year', range: { gte: 2000 } }],
        should: [{ key: 'lang', match: { any: ['en', 'de'] } }],
        mustNot: [{ key: 'tenant', match: { value: 'other' } }],
      },
      'acme',
    );
    assert.deepEqual(filter, {
      must: [
        { key: 'tenant', match: { value: 'acme' } },
        { key: 'metadata.year', range: { gte: 2000 } },
      ],
      should: [{ key: 'metadata.lang', match: { any: ['en', 'de'] } }],
      must_not: [{ key: 'metadata.tenant', match: { value: 'other' } }],
    });
  });

  it('never lets a user condition name a top-level payload field', () => {
    const filter = toQdrantFilter(
      {
        must: [{ key: 'tenant', match: { value: 'a' } }],
        should: [{ key: 'doc_id', match: { value: 'x' } }],
        mustNot: [{ key: 'model', match: { value: 'm' } }],
      },
      'b',
    );
    const clauses = [filter.must, filter.should, filter.must_not] as Array<Array<{ key: string }> | undefined>;
    const keys = clauses.flatMap((c) => c ?? []).map((c) => c.key);
    assert.deepEqual(keys, ['tenant', 'metadata.tenant', 'metadata.doc_id', 'metadata.model']);
    assert.deepEqual((filter.must as unknown[])[0], { key: 'tenant', match: { value: 'b' } });
  });
});
