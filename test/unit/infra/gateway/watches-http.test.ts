import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GatewayWatches } from '../../../../infra/gateway/gateway-options.ts';
import { startGateway, type RunningGateway } from '../../../../infra/gateway/index.ts';
import { parseWatchSpec, type Watch } from '../../../../topology/index.ts';

// POST /watches in process, no services: what the gateway hands the watch client, with a filter
// given as key=value lines (as the search page sends its filter box) or as an object.

describe('POST /watches', () => {
  const added: unknown[] = [];
  const watches: GatewayWatches = {
    add: (input) => {
      added.push(input);
      const spec = parseWatchSpec(input);
      return Promise.resolve({ ...spec, id: 'w-1', createdAt: 'now' } satisfies Watch);
    },
    list: () => Promise.resolve([]),
    remove: () => Promise.resolve(),
    tail: () => ({ ready: Promise.resolve(), close: () => Promise.resolve() }),
  };
  let gateway: RunningGateway;
  const post = async (body: unknown): Promise<{ status: number; json: { filter?: unknown; error?: { code: string } } }> => {
    const response = await fetch(`http://127.0.0.1:${gateway.port}/watches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as never };
  };

  before(async () => {
    const searcher = { search: () => Promise.reject(new Error('no search here')), isReady: () => true };
    gateway = await startGateway({ searcher, port: 0, host: '127.0.0.1', watches });
  });
  after(() => gateway?.close());

  it('turns filter lines into the filter object /search would make of them', async () => {
    const created = await post({ query: { text: 'lava' }, tenant: 'acme', filter: ['topic=geology', 'year>=2022'] });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.deepEqual(created.json.filter, {
      must: [
        { key: 'topic', match: { value: 'geology' } },
        { key: 'year', range: { gte: 2022 } },
      ],
    });
  });

  it('passes a filter object as it is, and refuses a bad line or an empty list with invalid-filter', async () => {
    const object = { must: [{ key: 'topic', match: { value: 'geology' } }] };
    assert.deepEqual((await post({ query: { text: 'lava' }, filter: object })).json.filter, object);
    for (const filter of [['year>>2022'], []]) {
      const refused = await post({ query: { text: 'lava' }, filter });
      assert.deepEqual([refused.status, refused.json.error?.code], [400, 'invalid-filter'], JSON.stringify(filter));
    }
  });
});
