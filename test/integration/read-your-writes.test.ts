import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { RedisWriteFences } from '../../consumers/runtime/index.ts';
import { startGateway, type RunningGateway } from '../../infra/gateway/index.ts';
import { createRedis } from '../../infra/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { decodePosition, encodePosition, positionOf, RejectedError, type SearchErrorCode } from '../../topology/index.ts';
import { createHarness, type Harness } from '../support/harness.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';

const CLI = fileURLToPath(new URL('../../infra/cli/bin.mjs', import.meta.url));

// Read your writes on real Kafka, Redis, Qdrant and the real model: a search carrying the position
// its document was published at finds it on the first try; one the index cannot reach in time gets
// not-yet-indexed with the lag; a malformed position is refused at once. The encoders run as the
// encoder role runs them: a text group and a media group, each with the write fences.
describe('read your writes', () => {
  let h: Harness;
  let model: OnnxEncoder;
  let redis: Redis;
  let producer: IngestProducer;
  let query: QueryStack;
  let encoders: EncoderConsumer[] = [];
  let gateway: RunningGateway;
  const GATEWAY_TIMEOUT_MS = 3_000;

  const startEncoders = async (): Promise<void> => {
    encoders = (['text', 'media'] as const).map(
      (modality) =>
        new EncoderConsumer({
          kafka: h.kafka,
          qdrant: h.qdrant,
          topology: h.topology,
          config: h.config,
          encoder: () => Promise.resolve(documentEncoder(model)),
          modality,
          fences: new RedisWriteFences(redis, h.topology),
        }),
    );
    for (const e of encoders) await e.start();
  };
  const stopEncoders = async (): Promise<void> => {
    for (const e of encoders) await e.close();
    encoders = [];
  };

  before(async () => {
    h = await createHarness();
    model = await loadEncoder(h.config.model);
    redis = createRedis(h.services.redis, `test-${h.namespace}-fences`);
    await startEncoders();
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    query = await startQueryStack(h, [model], { timeoutMs: 15_000 });
    gateway = await startGateway({ searcher: query.client, port: 0, timeoutMs: GATEWAY_TIMEOUT_MS });
  });

  after(async () => {
    await gateway?.close();
    await query?.close();
    await producer?.close();
    await stopEncoders();
    await redis?.quit();
    await model?.close();
    await h?.close();
  });

  /** A document alone in a tenant of its own: a search of that tenant finds it iff it is indexed. */
  const publishOne = async (): Promise<{ tenant: string; id: string; text: string; position: string }> => {
    const tenant = `rw-${randomUUID().slice(0, 8)}`;
    const id = `doc-${randomUUID().slice(0, 8)}`;
    const text = `A note about ${tenant}: the lighthouse keeper logs the tide at dawn.`;
    const position = await producer.upsert([{ id, tenant, text }]);
    return { tenant, id, text, position };
  };

  /** GET /search on the gateway, `after` as a parameter or in the X-Searchbus-After header. */
  const gatewaySearch = async (
    doc: { text: string; tenant: string },
    after: { param?: string; header?: string },
  ): Promise<{ status: number; json: { hits?: Array<{ docId: string }>; error?: { code: string; lag?: Record<string, number> } } }> => {
    const query = new URLSearchParams({
      q: doc.text,
      tenant: doc.tenant,
      k: '3',
      ...(after.param !== undefined ? { after: after.param } : {}),
    });
    const response = await fetch(`http://127.0.0.1:${gateway.port}/search?${query.toString()}`, {
      headers: after.header !== undefined ? { 'x-searchbus-after': after.header } : {},
    });
    return { status: response.status, json: (await response.json()) as never };
  };

  const rejected = async (search: Promise<unknown>): Promise<RejectedError<SearchErrorCode>> => {
    const error = await search.then(
      () => assert.fail('the search was answered with hits'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RejectedError, `expected a RejectedError, got ${String(error)}`);
    return error as RejectedError<SearchErrorCode>;
  };

  it('finds a document searched at once with after, on the first try, 50 out of 50', async () => {
    const misses: string[] = [];
    for (let i = 0; i < 50; i++) {
      const doc = await publishOne();
      const position = decodePosition(doc.position);
      assert.equal(position.topic, h.topology.topics.ingest);
      assert.equal(position.offsets.size, 1);
      const result = await query.client.search({ text: doc.text, tenant: doc.tenant, topK: 3, after: doc.position });
      if (result.hits[0]?.docId !== doc.id) misses.push(doc.id);
    }
    assert.deepEqual(misses, []);
    // Searched at once, most were not indexed yet when they arrived: the wait is what found them.
    const waited = await query.metrics.value('searchbus_search_after_total', { outcome: 'waited' });
    const covered = await query.metrics.value('searchbus_search_after_total', { outcome: 'covered' });
    assert.equal(waited + covered, 50);
    assert.ok(waited > 0, `${waited} of 50 waited for the index`);
  });

  it('answers a request already covered without reading the offsets again', async () => {
    const doc = await publishOne();
    await query.client.search({ text: doc.text, tenant: doc.tenant, topK: 3, after: doc.position });
    const reads = query.consumer.positions.reads;
    for (let i = 0; i < 5; i++) {
      const result = await query.client.search({ text: doc.text, tenant: doc.tenant, topK: 3, after: doc.position });
      assert.equal(result.hits[0]?.docId, doc.id);
    }
    assert.equal(query.consumer.positions.reads, reads);
  });

  it('refuses a malformed position, or one of another topic, at once with invalid-position', async () => {
    const started = performance.now();
    const malformed = await rejected(query.client.search({ text: 'tide', after: 'p1.not a token' }, { timeoutMs: 10_000 }));
    assert.equal(malformed.code, 'invalid-position');
    const foreign = encodePosition(positionOf(`${h.namespace}.other`, [{ partition: 0, offset: 0n }]));
    const elsewhere = await rejected(query.client.search({ text: 'tide', after: foreign }, { timeoutMs: 10_000 }));
    assert.equal(elsewhere.code, 'invalid-position');
    assert.match(elsewhere.message, /this index follows/);
    assert.ok(performance.now() - started < 5_000, 'both were answered long before their deadline');
  });

  it('takes after on the gateway, as a parameter or the X-Searchbus-After header; a malformed one is a 400', async () => {
    const doc = await publishOne();
    const byParam = await gatewaySearch(doc, { param: doc.position });
    assert.equal(byParam.status, 200, JSON.stringify(byParam.json));
    assert.equal(byParam.json.hits?.[0]?.docId, doc.id);
    const next = await publishOne();
    const byHeader = await gatewaySearch(next, { header: next.position });
    assert.equal(byHeader.status, 200, JSON.stringify(byHeader.json));
    assert.equal(byHeader.json.hits?.[0]?.docId, next.id);
    const malformed = await gatewaySearch(doc, { header: 'p1.###' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error?.code, 'invalid-position');
  });

  it('searchbus ingest --json prints the position, and search --after finds what it published', async () => {
    const cli = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      const env = {
        ...process.env,
        ...h.env,
        KAFKA_BROKERS: h.services.kafka.brokers.join(','),
        REDIS_URL: h.services.redis.url,
        QDRANT_URL: h.services.qdrant.url,
      };
      return promisify(execFile)(process.execPath, [CLI, ...args], { env }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code?: number; stdout?: string; stderr?: string }) => ({
          code: error.code ?? 1,
          stdout: error.stdout ?? '',
          stderr: error.stderr ?? '',
        }),
      );
    };
    const dir = await mkdtemp(join(tmpdir(), 'ryw-'));
    try {
      const tenant = `cli-${randomUUID().slice(0, 8)}`;
      const lines = ['a', 'b', 'c'].map((id) => JSON.stringify({ id, text: `Tide table ${id} kept by the harbour master of ${tenant}.` }));
      await writeFile(join(dir, 'docs.jsonl'), `${lines.join('\n')}\n`);
      const ingest = await cli(['ingest', join(dir, 'docs.jsonl'), '--tenant', tenant, '--json']);
      assert.equal(ingest.code, 0, ingest.stderr);
      const summary = JSON.parse(ingest.stdout.trim().split('\n').at(-1)!) as { published: number; position: string };
      assert.equal(summary.published, 3);
      const position = decodePosition(summary.position);
      assert.equal(position.topic, h.topology.topics.ingest);
      assert.ok(position.offsets.size >= 1);
      const search = await cli([
        'search',
        `Tide table c kept by the harbour master of ${tenant}`,
        '--tenant',
        tenant,
        '--after',
        summary.position,
        '--json',
      ]);
      assert.equal(search.code, 0, search.stderr);
      const result = JSON.parse(search.stdout.trim().split('\n').at(-1)!) as { hits: Array<{ docId: string }> };
      assert.deepEqual(result.hits.map((hit) => hit.docId).sort(), ['a', 'b', 'c']);
      const bad = await cli(['search', 'tide', '--after', 'p1.***']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /invalid-position/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers not-yet-indexed with the lag before the deadline while the encoders are stopped, then finds it after they restart', async () => {
    await stopEncoders();
    const doc = await publishOne();
    const [partition] = [...decodePosition(doc.position).offsets.keys()];
    const timeoutMs = 3_000;
    const started = performance.now();
    const error = await rejected(query.client.search({ text: doc.text, tenant: doc.tenant, topK: 3, after: doc.position }, { timeoutMs }));
    const took = performance.now() - started;
    assert.equal(error.code, 'not-yet-indexed');
    assert.equal(error.retriable, true);
    assert.deepEqual(error.details, { lag: { [String(partition)]: 1 } });
    assert.ok(took < timeoutMs, `answered in ${took.toFixed(0)} ms, before the ${timeoutMs} ms deadline`);
    assert.ok(took > timeoutMs / 2, `it waited for the index (${took.toFixed(0)} ms)`);
    const overHttp = await gatewaySearch(doc, { header: doc.position });
    assert.equal(overHttp.status, 503);
    assert.equal(overHttp.json.error?.code, 'not-yet-indexed');
    assert.deepEqual(overHttp.json.error?.lag, { [String(partition)]: 1 });

    // An encoder restart: the same groups go on from their committed offsets.
    await startEncoders();
    const result = await query.client.search({ text: doc.text, tenant: doc.tenant, topK: 3, after: doc.position });
    assert.equal(result.hits[0]?.docId, doc.id);
  });
});
