import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import type { DocumentInput } from '../../producers/ingest/index.ts';
import { HEADERS, RejectedError, SEARCH_MODES, type SearchFilter, type SearchMode } from '../../topology/index.ts';
import { readScifact } from '../support/corpus.ts';
import { indexThroughBus } from '../support/index-corpus.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';

// Tenant isolation, adversarially: tenant B tries every filter it can think of to reach tenant A's
// documents. Every document also carries its tenant in metadata (metadata.tenant, as a naive
// application would store it) and shares the other metadata, so a filter that replaced or
// loosened the tenant condition would find A's documents. Filters that select only A's metadata
// must come back empty, not refused: they ran, and the tenant condition kept A out.
describe('query path: tenant isolation', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let stack: QueryStack;
  let raw: Producer;
  const aDocs: DocumentInput[] = [];
  const bDocs: DocumentInput[] = [];
  const defaultDocs: DocumentInput[] = [];

  before(async () => {
    h = await createHarness();
    encoder = await loadEncoder(h.config.model);
    const scifact = await readScifact(90);
    scifact.forEach((d, i) => {
      const doc = { id: `doc-${i}`, title: d.title, text: d.text };
      if (i % 3 === 0) aDocs.push({ ...doc, tenant: 'tenant-a', metadata: { tenant: 'tenant-a', group: 'shared', year: 2000 + i } });
      else if (i % 3 === 1) bDocs.push({ ...doc, tenant: 'tenant-b', metadata: { tenant: 'tenant-b', group: 'shared', year: 2000 + i } });
      else defaultDocs.push({ ...doc, metadata: { group: 'shared', year: 2000 + i } });
    });
    const all = [...aDocs, ...bDocs, ...defaultDocs];
    await indexThroughBus(h, encoder, all);
    stack = await startQueryStack(h, [encoder]);
    raw = h.kafka.producer();
    await raw.connect();
  });

  after(async () => {
    await raw?.disconnect();
    await stack?.close();
    await encoder?.close();
    await h?.close();
  });

  const aIds = (): Set<string> => new Set(aDocs.map((d) => d.id));
  // 2000 + i for i = 0, 3, 6, …: known before `before` runs, as the attack list is built at load time.
  const aYears = (): number[] => Array.from({ length: 30 }, (_, k) => 2000 + 3 * k);

  it("lets a tenant find its own documents in every mode (the control: A's text finds A's document for A)", async () => {
    for (const mode of [undefined, ...SEARCH_MODES]) {
      for (const doc of aDocs.slice(0, 5)) {
        const result = await stack.client.search({ text: doc.title ?? '', topK: 1, tenant: 'tenant-a', ...(mode ? { mode } : {}) });
        assert.equal(result.hits[0]?.docId, doc.id, `${doc.id} by its title (${mode ?? 'default'})`);
        assert.equal(result.mode, mode ?? 'hybrid', 'hybrid is the default on a collection with sparse vectors');
      }
    }
    const unscoped = await stack.client.search({ text: defaultDocs[0]!.title ?? '', topK: 100 });
    assert.ok(unscoped.hits.length > 0);
    assert.ok(
      unscoped.hits.every((hit) => defaultDocs.some((d) => d.id === hit.docId)),
      'no tenant = the default tenant only',
    );
  });

  const attacks: Array<[string, SearchFilter | undefined, 'some' | 'none']> = [
    ['no filter', undefined, 'some'],
    ['should naming tenant A on the metadata key "tenant"', { should: [{ key: 'tenant', match: { value: 'tenant-a' } }] }, 'none'],
    ['must naming tenant A on the metadata key "tenant"', { must: [{ key: 'tenant', match: { value: 'tenant-a' } }] }, 'none'],
    [
      'should with a condition every document meets',
      {
        should: [
          { key: 'group', match: { value: 'shared' } },
          { key: 'tenant', match: { any: ['tenant-a', 'tenant-b', 'default'] } },
        ],
      },
      'some',
    ],
    ['mustNot excluding B', { mustNot: [{ key: 'tenant', match: { value: 'tenant-b' } }] }, 'none'],
    ['mustNot on a field nobody has', { mustNot: [{ key: 'nothing', match: { value: 'x' } }] }, 'some'],
    ['a range matching every year', { must: [{ key: 'year', range: { gte: 0 } }], should: [{ key: 'year', range: { lt: 1e9 } }] }, 'some'],
    ["A's years only", { must: [{ key: 'year', match: { any: aYears() } }] }, 'none'],
  ];
  // Every mode: the tenant condition must hold inside the dense and the sparse prefetch alike.
  for (const [what, filter, expected] of attacks) {
    it(`never returns A's documents to B in dense, sparse and hybrid mode: ${what}`, async () => {
      for (const mode of SEARCH_MODES) await attack(mode, filter, expected, what);
    });
  }

  async function attack(mode: SearchMode, filter: SearchFilter | undefined, expected: 'some' | 'none', what: string): Promise<void> {
    let answered = 0;
    for (const doc of aDocs.slice(0, 6)) {
      // A's own title: the best possible match for an A document, and the most hits allowed.
      const result = await stack.client.search({
        text: doc.title ?? '',
        topK: 100,
        tenant: 'tenant-b',
        mode,
        ...(filter ? { filter } : {}),
      });
      assert.equal(result.mode, mode);
      const leaked = result.hits.filter((hit) => aIds().has(hit.docId));
      assert.deepEqual(leaked, [], `B received A's documents with ${what} (${mode})`);
      assert.ok(
        result.hits.every((hit) => bDocs.some((d) => d.id === hit.docId)),
        `only B documents (${mode})`,
      );
      answered += result.hits.length;
    }
    if (expected === 'none') assert.equal(answered, 0, `the filter selects only what B may not see (${mode})`);
    else assert.ok(answered > 0, `B gets its own documents, so the filter was applied, not refused (${mode})`);
  }

  const refused: Array<[string, unknown]> = [
    ['a raw top-level Qdrant key', { must: [{ key: 'tenant', match: { value: 'tenant-a' } }], must_not: [] }],
    ['a nested filter', { should: [{ must: [{ key: 'tenant', match: { value: 'tenant-a' } }] }] }],
    ['a dotted key escaping metadata', { must: [{ key: '..tenant', match: { value: 'tenant-a' } }] }],
    ['a has_id condition', { should: [{ has_id: [] }] }],
    ['an is_empty condition', { should: [{ is_empty: { key: 'tenant' } }] }],
    ['min_should', { min_should: { conditions: [{ key: 'tenant', match: { value: 'tenant-a' } }], min_count: 1 } }],
  ];
  for (const [what, filter] of refused) {
    it(`refuses ${what} with invalid-filter`, async () => {
      await assert.rejects(
        stack.client.search({ text: aDocs[0]!.title ?? '', topK: 10, tenant: 'tenant-b', filter: filter as SearchFilter }),
        (e: unknown) => e instanceof RejectedError && e.code === 'invalid-filter',
      );
    });
  }

  it('refuses a hand-made request with extra fields meant to widen the search', async () => {
    const channel = h.topology.redis.replyChannel(`raw-${randomUUID()}`);
    const subscriber = stack.redis.duplicate();
    try {
      const replies: string[] = [];
      subscriber.on('message', (_c: string, m: string) => replies.push(m));
      await subscriber.subscribe(channel);
      const id = randomUUID();
      await raw.send({
        topic: h.topology.topics.searchRequests,
        messages: [
          {
            key: id,
            value: JSON.stringify({
              schemaVersion: 1,
              id,
              query: { text: aDocs[0]!.title },
              topK: 10,
              tenant: 'tenant-b',
              tenants: ['tenant-a'],
              replyTo: channel,
              deadline: Date.now() + 10_000,
            }),
            headers: { [HEADERS.replyTo]: channel },
          },
        ],
      });
      const reply = await waitFor('the error reply', () => Promise.resolve(replies[0]), 10_000, 20);
      assert.deepEqual(JSON.parse(reply), {
        schemaVersion: 1,
        id,
        error: { code: 'invalid-request', message: 'unknown field(s): tenants' },
      });
    } finally {
      await subscriber.quit();
    }
  });
});
