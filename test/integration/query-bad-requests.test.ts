import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { Consumer, Producer } from 'kafkajs';
import { type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import type { DocumentInput } from '../../producers/ingest/index.ts';
import type { SearchQuery } from '../../producers/search-client/index.ts';
import { HEADERS, RejectedError, TimeoutError, type SearchFilter } from '../../topology/index.ts';
import { readScifact } from '../support/corpus.ts';
import { indexThroughBus } from '../support/index-corpus.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';

// Every bad request gets an error reply, fast (well under the client's timeout), and the consumer
// answers the next good request as if nothing happened.
const QUICK_MS = 2_000;
const CLIENT_TIMEOUT_MS = 15_000;

describe('query path: bad requests', () => {
  let h: Harness;
  let encoder: OnnxEncoder;
  let stack: QueryStack;
  let raw: Producer;
  let subscriber: Redis;
  const replies = new Map<string, string>();
  const channel = `raw-${randomUUID()}`;
  const docs: DocumentInput[] = [];

  before(async () => {
    h = await createHarness();
    encoder = await loadEncoder(h.config.model);
    for (const d of await readScifact(20)) docs.push({ id: d.id, title: d.title, text: d.text });
    await indexThroughBus(h, encoder, docs);
    stack = await startQueryStack(h, [encoder], { timeoutMs: CLIENT_TIMEOUT_MS });
    raw = h.kafka.producer();
    await raw.connect();
    subscriber = stack.redis.duplicate();
    subscriber.on('message', (_c: string, message: string) => {
      const { id } = JSON.parse(message) as { id: string };
      replies.set(id, message);
    });
    await subscriber.subscribe(h.topology.redis.replyChannel(channel));
  });

  after(async () => {
    await subscriber?.quit();
    await raw?.disconnect();
    await stack?.close();
    await encoder?.close();
    await h?.close();
  });

  async function stillServing(): Promise<void> {
    const doc = docs[7]!;
    const result = await stack.client.search({ text: doc.title ?? '', topK: 3 });
    assert.equal(result.hits[0]?.docId, doc.id, 'the consumer keeps answering good requests');
  }

  const cases: Array<[string, SearchQuery, string]> = [
    ['an empty query', { text: '' }, 'empty-query'],
    ['a blank query', { text: ' \n\t ' }, 'empty-query'],
    ['k = 0', { text: 'cells', topK: 0 }, 'invalid-top-k'],
    ['k above the maximum', { text: 'cells', topK: 1000 }, 'invalid-top-k'],
    ['a fractional k', { text: 'cells', topK: 2.5 }, 'invalid-top-k'],
    [
      'an unknown filter operator',
      { text: 'cells', filter: { must: [{ key: 'year', near: 2000 }] } as unknown as SearchFilter },
      'invalid-filter',
    ],
    [
      'an unknown range bound',
      { text: 'cells', filter: { must: [{ key: 'year', range: { between: [1, 2] } }] } as unknown as SearchFilter },
      'invalid-filter',
    ],
    ['a tenant with a space', { text: 'cells', tenant: 'a b' }, 'invalid-request'],
  ];
  for (const [what, query, code] of cases) {
    it(`answers ${what} with ${code}, quickly`, async () => {
      const started = performance.now();
      await assert.rejects(stack.client.search(query), (e: unknown) => {
        assert.ok(!(e instanceof TimeoutError), 'an error reply, not a timeout');
        assert.ok(e instanceof RejectedError, String(e));
        assert.equal(e.code, code);
        return true;
      });
      const ms = performance.now() - started;
      assert.ok(ms < QUICK_MS, `error reply took ${ms.toFixed(0)} ms`);
      await stillServing();
    });
  }

  it('answers malformed JSON from a raw Kafka client with invalid-json on the header channel, and dead-letters it', async () => {
    const id = randomUUID();
    const started = performance.now();
    await raw.send({
      topic: h.topology.topics.searchRequests,
      messages: [
        {
          key: id,
          value: '{"schemaVersion": 1, "id": "x", "query": {"text": "cells"',
          headers: { [HEADERS.replyTo]: h.topology.redis.replyChannel(channel) },
        },
      ],
    });
    const reply = await waitFor('the invalid-json reply', () => Promise.resolve(replies.get(id)), QUICK_MS, 10);
    assert.ok(performance.now() - started < QUICK_MS);
    const parsed = JSON.parse(reply) as { schemaVersion: number; id: string; error: { code: string; message: string } };
    assert.equal(parsed.schemaVersion, 1);
    assert.equal(parsed.id, id, 'the request id comes from the record key');
    assert.equal(parsed.error.code, 'invalid-json');
    assert.match(parsed.error.message, /not JSON/);
    await stillServing();

    const dlq: Consumer = h.kafka.consumer({ groupId: `${h.namespace}.dlq-check` });
    await dlq.connect();
    try {
      await dlq.subscribe({ topic: h.topology.topics.deadLetter, fromBeginning: true });
      const letters: Array<{ key: string; code: string }> = [];
      await dlq.run({
        eachMessage: ({ message }) =>
          Promise.resolve(
            void letters.push({ key: message.key?.toString() ?? '', code: message.headers?.[HEADERS.errorCode]?.toString() ?? '' }),
          ),
      });
      const letter = await waitFor('the dead letter', () => Promise.resolve(letters.find((l) => l.key === id)), 30_000, 50);
      assert.equal(letter.code, 'invalid-json');
    } finally {
      await dlq.disconnect();
    }
  });

  it('answers a body that is JSON but not a request with invalid-request, using the header channel', async () => {
    const id = randomUUID();
    await raw.send({
      topic: h.topology.topics.searchRequests,
      messages: [{ key: id, value: '[1, 2, 3]', headers: { [HEADERS.replyTo]: h.topology.redis.replyChannel(channel) } }],
    });
    const reply = JSON.parse(await waitFor('the reply', () => Promise.resolve(replies.get(id)), QUICK_MS, 10)) as {
      error: { code: string };
    };
    assert.equal(reply.error.code, 'invalid-request');
  });

  it('skips and counts a request whose deadline has passed, without answering it', async () => {
    const expired = (): Promise<number> => stack.metrics.value('searchbus_search_expired_total');
    const before = await expired();
    const id = randomUUID();
    const replyTo = h.topology.redis.replyChannel(channel);
    await raw.send({
      topic: h.topology.topics.searchRequests,
      messages: [
        {
          key: id,
          value: JSON.stringify({ schemaVersion: 1, id, query: { text: 'cells' }, topK: 3, replyTo, deadline: Date.now() - 1 }),
          headers: { [HEADERS.replyTo]: replyTo },
        },
      ],
    });
    await waitFor('the expired request to be counted', async () => ((await expired()) > before ? true : undefined), 10_000, 20);
    // A request sent after it is answered, so by then any reply to the expired one would be here too.
    const later = randomUUID();
    await raw.send({
      topic: h.topology.topics.searchRequests,
      messages: [
        {
          key: later,
          value: JSON.stringify({ schemaVersion: 1, id: later, query: { text: 'cells' }, topK: 3, replyTo, deadline: Date.now() + 10_000 }),
          headers: { [HEADERS.replyTo]: replyTo },
        },
      ],
    });
    await waitFor('the later reply', () => Promise.resolve(replies.get(later)), QUICK_MS, 10);
    assert.equal(replies.has(id), false, 'no reply to an expired request');
  });

  it('answers many concurrent searches, good and bad mixed, each with its own reply', async () => {
    const good = docs
      .slice(0, 16)
      .map((d) => stack.client.search({ text: d.title ?? '', topK: 1 }).then((r) => ({ want: d.id, got: r.hits[0]?.docId })));
    const bad = Array.from({ length: 8 }, (_, i) =>
      stack.client.search({ text: '', topK: i + 1 }).then(
        () => 'answered',
        (e: unknown) => (e as RejectedError).code,
      ),
    );
    const results = await Promise.all(good);
    for (const r of results) assert.equal(r.got, r.want);
    assert.deepEqual(
      await Promise.all(bad),
      Array.from({ length: 8 }, () => 'empty-query'),
    );
    assert.equal(stack.client.stats.unknownReplies, 0);
  });
});
