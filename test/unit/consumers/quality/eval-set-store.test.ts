import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EvalSetStore, judgementsFor, type EvalSet } from '../../../../consumers/quality/index.ts';
import { ContractError, createTopology } from '../../../../topology/index.ts';
import { errorOf } from '../../../support/error-kinds.ts';

const INVALID_EVAL_SET = errorOf(ContractError, 'invalid-eval-set');

/** Just the three hash commands the store uses, on a Map. */
function fakeRedis() {
  const hashes = new Map<string, Map<string, string>>();
  const hash = (key: string): Map<string, string> => hashes.get(key) ?? hashes.set(key, new Map()).get(key)!;
  return {
    hashes,
    hset: (key: string, field: string, value: string) => {
      const existed = hash(key).has(field);
      hash(key).set(field, value);
      return Promise.resolve(existed ? 0 : 1);
    },
    hget: (key: string, field: string) => Promise.resolve(hash(key).get(field) ?? null),
    hvals: (key: string) => Promise.resolve([...hash(key).values()]),
  };
}

const set = (name: string, tenant: string): EvalSet => ({
  name,
  tenant,
  split: 'test',
  source: '/data',
  addedAt: '2026-01-01T00:00:00.000Z',
  queries: [{ id: 'q1', text: 'what' }],
  qrels: { q1: { d1: 2, d2: 0 } },
});

describe('EvalSetStore', () => {
  it('keeps each tenant to its own sets', async () => {
    const redis = fakeRedis();
    const store = new EvalSetStore(redis as never, createTopology('ns'));
    assert.equal(await store.add(set('claims', 'acme')), false);
    assert.equal(await store.add(set('claims', 'acme')), true, 'a second add replaces');
    await store.add(set('other', 'globex'));
    assert.deepEqual(
      (await store.list('acme')).map((s) => [s.name, s.tenant, s.queries, s.judgements]),
      [['claims', 'acme', 1, 2]],
    );
    assert.deepEqual(
      (await store.list('globex')).map((s) => s.name),
      ['other'],
    );
    assert.equal(await store.get('globex', 'claims'), null);
    assert.deepEqual([...redis.hashes.keys()].sort(), ['ns:eval-sets:acme', 'ns:eval-sets:globex']);
    const loaded = await store.get('acme', 'claims');
    assert.deepEqual(loaded && [...judgementsFor(loaded, 'q1')], [
      ['d1', 2],
      ['d2', 0],
    ]);
  });

  it('refuses bad names, bad tenants and empty sets', async () => {
    const store = new EvalSetStore(fakeRedis() as never, createTopology('ns'));
    await assert.rejects(store.add(set('has space', 'acme')), INVALID_EVAL_SET);
    await assert.rejects(store.add(set('ok', 'a/b')), INVALID_EVAL_SET);
    await assert.rejects(store.add({ ...set('ok', 'acme'), queries: [] }), INVALID_EVAL_SET);
  });
});
