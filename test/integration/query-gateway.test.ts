import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { createRedis } from '../../infra/index.ts';
import { startGateway, type RunningGateway } from '../../infra/gateway/index.ts';
import type { DocumentInput } from '../../producers/ingest/index.ts';
import { SearchClient } from '../../producers/search-client/index.ts';
import { readScifact } from '../support/corpus.ts';
import { indexThroughBus } from '../support/index-corpus.ts';
import { createHarness, type Harness } from '../support/harness.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';

// The HTTP gateway on the real request/reply path.
describe('query path: HTTP gateway', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let stack: QueryStack;
  let client: SearchClient;
  let gateway: RunningGateway;
  const docs: DocumentInput[] = [];
  const url = (path: string): string => `http://127.0.0.1:${gateway.port}${path}`;

  before(async () => {
    h = await createHarness();
    encoder = await loadEncoder(h.config.model);
    (await readScifact(12)).forEach((d, i) =>
      docs.push({ id: d.id, title: d.title, text: d.text, metadata: { lang: i % 2 ? 'en' : 'de', year: 2000 + i } }),
    );
    await indexThroughBus(h, encoder, docs);
    stack = await startQueryStack(h, [encoder]);
    client = new SearchClient({
      kafka: h.kafka,
      redis: createRedis(h.services.redis, `test-${h.namespace}-gw`),
      topology: h.topology,
      defaultTimeoutMs: 10_000,
    });
    gateway = await startGateway({ searcher: client, port: 0 });
  });

  after(async () => {
    await gateway?.close();
    await client?.close();
    await stack?.close();
    await encoder?.close();
    await h?.close();
  });

  it('is live at once and ready only once connected', async () => {
    assert.equal((await fetch(url('/healthz'))).status, 200);
    assert.equal((await fetch(url('/readyz'))).status, 503, 'not connected yet');
    await client.connect();
    const ready = await fetch(url('/readyz'));
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ok: true });
  });

  it('searches: GET /search?q=&k=&filter=', async () => {
    const doc = docs[3]!;
    const response = await fetch(url(`/search?q=${encodeURIComponent(doc.title ?? '')}&k=2`));
    assert.equal(response.status, 200);
    const body = (await response.json()) as { hits: Array<{ docId: string; metadata: unknown }>; model: string; latencyMs: number };
    assert.equal(body.hits.length, 2);
    assert.equal(body.hits[0]?.docId, doc.id);
    assert.equal(body.model, 'all-minilm-l6-v2');

    const filtered = (await (
      await fetch(url(`/search?q=${encodeURIComponent(doc.title ?? '')}&k=10&filter=lang%3Dde&filter=year%3E%3D2004`))
    ).json()) as {
      hits: Array<{ docId: string; metadata: { lang: string; year: number } }>;
    };
    assert.ok(filtered.hits.length > 0);
    assert.ok(
      filtered.hits.every((h) => h.metadata.lang === 'de' && h.metadata.year >= 2004),
      JSON.stringify(filtered.hits.map((h) => h.metadata)),
    );
    assert.ok(!filtered.hits.some((h) => h.docId === doc.id), 'doc 3 is lang=en');
  });

  it('passes mode on: GET ?mode= and POST {"mode"}, hybrid by default', async () => {
    const doc = docs[4]!;
    const byDefault = (await (await fetch(url(`/search?q=${encodeURIComponent(doc.title ?? '')}&k=1`))).json()) as { mode: string };
    assert.equal(byDefault.mode, 'hybrid');
    for (const mode of ['dense', 'sparse', 'hybrid']) {
      const got = (await (await fetch(url(`/search?q=${encodeURIComponent(doc.title ?? '')}&k=1&mode=${mode}`))).json()) as {
        mode: string;
        hits: Array<{ docId: string }>;
      };
      assert.equal(got.mode, mode);
      assert.equal(got.hits[0]?.docId, doc.id, `${mode}: found by its title`);
      const posted = await fetch(url('/search'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ q: doc.title, k: 1, mode }),
      });
      assert.equal(((await posted.json()) as { mode: string }).mode, mode);
    }
  });

  it('answers bad requests with 400 and the consumer error code', async () => {
    const cases: Array<[string, string]> = [
      ['/search?q=', 'empty-query'],
      ['/search?q=cells&k=0', 'invalid-top-k'],
      ['/search?q=cells&k=ten', 'invalid-top-k'],
      ['/search?q=cells&filter=year~2000', 'invalid-filter'],
      ['/search?q=cells&mode=bm25', 'invalid-mode'],
      ['/search?q=cells&filter=%7B%22must%22%3A%5B%7B%22key%22%3A%22a%22%2C%22near%22%3A1%7D%5D%7D', 'invalid-filter'],
    ];
    for (const [path, code] of cases) {
      const response = await fetch(url(path));
      assert.equal(response.status, 400, path);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, code, path);
    }
    assert.equal((await fetch(url('/nowhere'))).status, 404);
    assert.equal((await fetch(url('/search?q=x'), { method: 'PUT' })).status, 405);
  });
});
