import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFilterArgs } from '../../../../producers/search-client/index.ts';
import { ContractError } from '../../../../topology/index.ts';

describe('parseFilterArgs', () => {
  it('is undefined without arguments', () => {
    assert.equal(parseFilterArgs([]), undefined);
  });

  it('types whole numbers and booleans, keeps other values (and quoted ones) as strings', () => {
    assert.deepEqual(parseFilterArgs(['year=2020', 'open=true', 'lang=en', 'code="2020"', 'v=1.5', 'zip=007']), {
      must: [
        { key: 'year', match: { value: 2020 } },
        { key: 'open', match: { value: true } },
        { key: 'lang', match: { value: 'en' } },
        { key: 'code', match: { value: '2020' } },
        { key: 'v', match: { value: '1.5' } },
        { key: 'zip', match: { value: '007' } },
      ],
    });
  });

  it('reads != as mustNot and comparisons as ranges', () => {
    assert.deepEqual(parseFilterArgs(['lang!=de', 'year>=2000', 'year<2010', 'score>0.5', 'n<=3']), {
      must: [
        { key: 'year', range: { gte: 2000 } },
        { key: 'year', range: { lt: 2010 } },
        { key: 'score', range: { gt: 0.5 } },
        { key: 'n', range: { lte: 3 } },
      ],
      mustNot: [{ key: 'lang', match: { value: 'de' } }],
    });
  });

  it('keeps = inside a value', () => {
    assert.deepEqual(parseFilterArgs(['q=a=b']), { must: [{ key: 'q', match: { value: 'a=b' } }] });
  });

  it('merges JSON filters with key=value ones', () => {
    assert.deepEqual(parseFilterArgs(['{"should":[{"key":"a","match":{"any":["x","y"]}}]}', 'b=1']), {
      must: [{ key: 'b', match: { value: 1 } }],
      should: [{ key: 'a', match: { any: ['x', 'y'] } }],
    });
  });

  for (const bad of ['noequals', 'a.b=1', 'year>=soon', 'year>', '{"must":[{"key":"a","exists":true}]}', '{not json']) {
    it(`refuses ${bad} with invalid-filter`, () => {
      assert.throws(
        () => parseFilterArgs([bad]),
        (e: unknown) => e instanceof ContractError && e.code === 'invalid-filter',
      );
    });
  }
});
