import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Redis } from 'ioredis';
import { Partitioners } from 'kafkajs';
import { createRedis } from '../../infra/index.ts';
import { IngestProducer, type DocumentInput } from '../../producers/ingest/index.ts';
import { SearchClient } from '../../producers/search-client/index.ts';
import { encodeDocument, HEADERS, keyOf, SEARCH_SCHEMA_VERSION } from '../../topology/index.ts';
import { readScifact } from '../support/corpus.ts';
import { dashboardMetricNames, exportedMetricNames } from '../support/dashboard-metrics.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';
import { startRoleProcess } from '../support/role-process.ts';

// Tracing and metrics on real services, with the encoder and the query consumer as separate
// `searchbus run <role>` processes, as they are deployed. Each role process runs the OpenTelemetry
// Node SDK (OTEL_EXPORTER_OTLP_ENDPOINT set) and exports over OTLP/HTTP (JSON) to a receiver in this
// test; this process runs the clients (ingest producer, search client) with the SDK's in-memory
// exporter. A trace is connected when the spans of both sides share its id and each span's parent
// is another span of the trace.

const SPAN_WAIT_MS = 60_000;

interface RoleProcess {
  child: ChildProcess;
  port: number;
  /** The HTTP gateway's port, for the gateway role. */
  gatewayPort: number;
  stderr: string[];
}

describe('telemetry: traces across processes, metrics, dashboard', () => {
  let h: Harness;
  let receiver: OtlpReceiver;
  let sdk: NodeSDK;
  const memory = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor(memory);
  const roles: RoleProcess[] = [];
  let encoderRole: RoleProcess;
  let queryRole: RoleProcess;
  let gatewayRole: RoleProcess;
  let producer: IngestProducer;
  let client: SearchClient;
  let subscriber: Redis;
  const docs: DocumentInput[] = [];

  const clientSpans = async (): Promise<ReadableSpan[]> => {
    await processor.forceFlush();
    return memory.getFinishedSpans();
  };

  before(async () => {
    h = await createHarness();
    receiver = await OtlpReceiver.start();
    sdk = new NodeSDK({
      serviceName: 'telemetry-test',
      spanProcessors: [processor],
      autoDetectResources: false,
      instrumentations: [],
      metricReaders: [],
      logRecordProcessors: [],
    });
    sdk.start();
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // Export each batch of spans promptly rather than every 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '100',
      SEARCHBUS_METRICS_PORT: '0',
    };
    encoderRole = startRole('encoder', { ...env, OTEL_SERVICE_NAME: 'searchbus-encoder' });
    queryRole = startRole('query', { ...env, OTEL_SERVICE_NAME: 'searchbus-query' });
    gatewayRole = startRole('gateway', { ...env, OTEL_SERVICE_NAME: 'searchbus-gateway', SEARCHBUS_GATEWAY_PORT: '0' });
    await Promise.all([ready(encoderRole, 'encoder'), ready(queryRole, 'query'), ready(gatewayRole, 'gateway')]);
    for (const d of await readScifact(4)) docs.push({ id: `tel-${d.id}`, title: d.title, text: d.text });
    producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
    client = new SearchClient({
      kafka: h.kafka,
      redis: createRedis(h.services.redis, `test-${h.namespace}-client`),
      topology: h.topology,
      defaultTimeoutMs: 30_000,
    });
    await client.connect();
    subscriber = createRedis(h.services.redis, `test-${h.namespace}-raw`);
  });

  after(async () => {
    await client?.close();
    await producer?.close();
    await subscriber?.quit();
    for (const role of roles) {
      if (role.child.exitCode === null) {
        const exited = new Promise((resolve) => role.child.once('exit', resolve));
        role.child.kill('SIGTERM');
        await exited;
      }
    }
    await sdk?.shutdown();
    await receiver?.close();
    await h?.close();
  });

  function startRole(role: string, env: Record<string, string>): RoleProcess {
    const child = startRoleProcess(h, role, env);
    const entry: RoleProcess = { child, port: 0, gatewayPort: 0, stderr: [] };
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        entry.stderr.push(line);
        const port = /health on http:\/\/127\.0\.0\.1:(\d+)\/readyz/.exec(line)?.[1];
        if (port) entry.port = Number(port);
        const gatewayPort = /gateway: http:\/\/[^/]+:(\d+)\/search/.exec(line)?.[1];
        if (gatewayPort) entry.gatewayPort = Number(gatewayPort);
      }
      entry.stderr.splice(0, Math.max(0, entry.stderr.length - 80));
    });
    roles.push(entry);
    return entry;
  }

  async function ready(role: RoleProcess, name: string): Promise<void> {
    await waitFor(
      `the ${name} process to be ready`,
      async () => {
        if (role.child.exitCode !== null)
          throw new Error(`the ${name} process exited (${role.child.exitCode}): ${role.stderr.slice(-10).join('\n')}`);
        if (role.port === 0) return undefined;
        const response = await fetch(`http://127.0.0.1:${role.port}/readyz`);
        return response.ok ? true : undefined;
      },
      300_000,
      200,
    );
  }

  async function scrape(role: RoleProcess): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${role.port}/metrics`);
    assert.equal(response.status, 200);
    return response.text();
  }

  /** The spans the role processes exported for a trace, once `done` says enough have arrived. */
  function received(traceId: string, what: string, done: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
    return waitFor(what, () => Promise.resolve(done(receiver.inTrace(traceId)) ? receiver.inTrace(traceId) : undefined), SPAN_WAIT_MS, 100);
  }

  function assertConnected(rootSpanId: string, spans: Array<{ spanId: string; parentSpanId: string; name: string }>): void {
    const ids = new Set([rootSpanId, ...spans.map((s) => s.spanId)]);
    for (const span of spans)
      assert.ok(ids.has(span.parentSpanId), `${span.name}'s parent ${span.parentSpanId || '(none)'} is a span of the trace`);
  }

  async function indexed(ids: string[]): Promise<number> {
    const { count } = await h.qdrant.count(h.topology.qdrant.alias, {
      exact: true,
      filter: {
        must: [
          { key: 'doc_id', match: { any: ids } },
          { key: 'chunk', match: { value: 0 } },
        ],
      },
    });
    return count;
  }

  it("carries a published document's trace through the encoder process to the Qdrant upsert", async () => {
    await producer.upsert(docs);
    const publish = (await clientSpans()).find((s) => s.name === 'searchbus.publish');
    assert.ok(publish, 'the producer recorded its publish span');
    const { traceId, spanId } = publish.spanContext();
    const spans = await received(traceId, 'the encoder spans of the published documents', (s) => s.some((x) => x.name === 'qdrant upsert'));
    const processSpan = spans.find((s) => s.name === 'searchbus.encode process');
    assert.ok(processSpan, `an encode span in the trace (got ${spans.map((s) => s.name).join(', ')})`);
    assert.equal(processSpan.parentSpanId, spanId, 'the encode span is a child of the publish span');
    assert.equal(processSpan.service, 'searchbus-encoder');
    const upsert = spans.find((s) => s.name === 'qdrant upsert');
    assert.equal(upsert?.parentSpanId, processSpan.spanId);
    assert.equal(upsert?.attributes['db.system'], 'qdrant');
    assert.ok(
      spans.some((s) => s.name === 'embed' && s.parentSpanId === processSpan.spanId),
      'the embedding step is in the trace',
    );
    assertConnected(spanId, spans);
    await waitFor(
      'the documents to be indexed',
      async () => ((await indexed(docs.map((d) => d.id))) === docs.length ? true : undefined),
      120_000,
      100,
    );
  });

  it('yields one connected trace for one search: client, query consumer, embedding, Qdrant, Redis reply', async () => {
    memory.reset();
    const result = await client.search({ text: docs[0]!.title ?? 'protein', topK: 3 });
    assert.ok(result.hits.length > 0, 'the search found documents');
    const searchSpan = (await clientSpans()).find((s) => s.name === 'searchbus.search');
    assert.ok(searchSpan, 'the client recorded its search span');
    const { traceId, spanId } = searchSpan.spanContext();
    assert.equal(searchSpan.parentSpanContext, undefined, 'the client span is the root');
    const spans = await received(traceId, 'the query consumer spans of the search', (s) =>
      ['searchbus.query process', 'embed', 'qdrant query', 'redis publish'].every((n) => s.some((x) => x.name === n)),
    );
    const consumer = spans.find((s) => s.name === 'searchbus.query process');
    assert.ok(consumer);
    assert.equal(consumer.parentSpanId, spanId, 'the query consumer span is a child of the client span');
    assert.equal(consumer.service, 'searchbus-query');
    for (const step of ['embed', 'qdrant query', 'redis publish']) {
      assert.equal(spans.find((s) => s.name === step)?.parentSpanId, consumer.spanId, `${step} is a step of the query consumer span`);
    }
    assert.equal(spans.find((s) => s.name === 'qdrant query')?.attributes['db.system'], 'qdrant');
    assertConnected(spanId, spans);
    const local = (await clientSpans()).filter((s) => s.spanContext().traceId === traceId);
    assert.deepEqual(
      local.map((s) => s.name),
      ['searchbus.search'],
      'the client side of the trace is the search span',
    );
    assert.deepEqual(receiver.rejected, [], 'every export was OTLP JSON');
  });

  it("continues an HTTP caller's trace through the gateway, the search client and the query consumer", async () => {
    await waitFor('the gateway to announce its port', () => Promise.resolve(gatewayRole.gatewayPort || undefined), 60_000, 100);
    const traceId = randomUUID().replaceAll('-', '');
    const callerSpanId = randomUUID().replaceAll('-', '').slice(0, 16);
    const response = await fetch(
      `http://127.0.0.1:${gatewayRole.gatewayPort}/search?q=${encodeURIComponent(docs[1]!.title ?? 'protein')}&k=3`,
      {
        headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
      },
    );
    assert.equal(response.status, 200, await response.clone().text());
    assert.ok(((await response.json()) as { hits: unknown[] }).hits.length > 0, 'the search found documents');
    const spans = await received(traceId, 'the gateway and query consumer spans of the search', (s) =>
      ['searchbus.gateway search', 'searchbus.search', 'searchbus.query process'].every((n) => s.some((x) => x.name === n)),
    );
    const server = spans.find((s) => s.name === 'searchbus.gateway search');
    const client = spans.find((s) => s.name === 'searchbus.search');
    const consumer = spans.find((s) => s.name === 'searchbus.query process');
    assert.ok(server && client && consumer);
    assert.equal(server.parentSpanId, callerSpanId, "the gateway's server span continues the caller's span");
    assert.equal(server.service, 'searchbus-gateway');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(client.parentSpanId, server.spanId, 'the search client span is a child of the server span');
    assert.equal(consumer.parentSpanId, client.spanId, 'the query consumer span is a child of the client span');
    assertConnected(callerSpanId, spans);
  });

  it('ignores malformed traceparent headers and fields: the document is indexed and the search answered', async () => {
    const raw = h.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await raw.connect();
    try {
      const bad = (await readScifact(6)).slice(4).map((d) => ({ id: `tel-bad-${d.id}`, title: d.title, text: d.text }));
      await raw.send({
        topic: h.topology.topics.ingest,
        messages: [
          {
            key: keyOf(bad[0]!),
            value: encodeDocument(bad[0]!),
            headers: { [HEADERS.traceparent]: 'not-a-traceparent', [HEADERS.tracestate]: '\u0000' },
          },
          { key: keyOf(bad[1]!), value: encodeDocument(bad[1]!), headers: { [HEADERS.traceparent]: Buffer.from([0xff, 0x00, 0xfe]) } },
        ],
      });
      await waitFor(
        'the documents with malformed trace headers to be indexed',
        async () => ((await indexed(bad.map((d) => d.id))) === bad.length ? true : undefined),
        120_000,
        100,
      );

      const prefix = h.topology.redis.replyChannel('');
      const channel = `${prefix}raw-${randomUUID()}`;
      const reply = new Promise<string>((resolve) =>
        subscriber.on('message', (c: string, message: string) => c === channel && resolve(message)),
      );
      await subscriber.subscribe(channel);
      const id = randomUUID();
      await raw.send({
        topic: h.topology.topics.searchRequests,
        messages: [
          {
            key: id,
            value: JSON.stringify({
              schemaVersion: SEARCH_SCHEMA_VERSION,
              id,
              query: { text: 'cells' },
              topK: 2,
              replyTo: channel,
              deadline: Date.now() + 60_000,
              traceparent: '00-zzzz-not-hex-01',
              tracestate: 7,
            }),
            headers: { [HEADERS.replyTo]: channel, [HEADERS.traceparent]: 'x'.repeat(4096) },
          },
        ],
      });
      const answer = JSON.parse(await reply) as { id: string; hits?: unknown[]; error?: unknown };
      assert.equal(answer.id, id);
      assert.ok(Array.isArray(answer.hits), `hits, not an error: ${JSON.stringify(answer).slice(0, 200)}`);
    } finally {
      await raw.disconnect();
    }
  });

  it('exports process, event-loop, freshness and search latency metrics, and every metric the dashboard queries', async () => {
    const [encoderText, queryText] = await Promise.all([scrape(encoderRole), scrape(queryRole)]);
    const sample = (text: string, pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? NaN);
    assert.ok(
      sample(encoderText, /^searchbus_freshness_seconds_count\{role="encoder"\} (\d+)/m) >= docs.length,
      'freshness observed per document',
    );
    assert.ok(
      sample(queryText, /^searchbus_search_latency_seconds_count\{outcome="hits"\} (\d+)/m) >= 2,
      'search latency observed per reply',
    );
    for (const text of [encoderText, queryText]) {
      for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
        assert.match(text, new RegExp(`^${name}(\\{[^}]*\\})? `, 'm'), name);
      }
      // The GC histogram has no sample until the process's first collection, which a short-lived
      // role may not have had yet: its family is what must be exported.
      assert.match(text, /^# TYPE nodejs_gc_duration_seconds histogram$/m, 'nodejs_gc_duration_seconds');
    }
    const exported = new Set([...exportedMetricNames(encoderText), ...exportedMetricNames(queryText)]);
    const used = await dashboardMetricNames();
    assert.ok(used.length >= 15, `the dashboard queries ${used.length} metrics`);
    assert.deepEqual(
      used.filter((name) => !exported.has(name)),
      [],
      'metrics the dashboard queries but no role exports',
    );
  });
});
