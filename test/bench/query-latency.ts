// Search latency through the bus (Kafka request -> query consumer -> Redis reply) against the same
// searches run directly in-process (embed + Qdrant query + collapse), at concurrency 1, 16 and 64.
// Run: node --import tsx test/bench/query-latency.ts [--dataset <beir-dir>]   (or under `searchbus infra run -- …`)
// The dataset defaults to the test fixture (test/fixtures/scifact).
// Uses the services in the environment, or starts throwaway local ones.
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import {
  collapseToDocuments,
  chunkQuery,
  HIT_PAYLOAD_FIELDS,
  hybridFusion,
  initialLimit,
  QueryConsumer,
  queryEncoder,
  toQdrantFilter,
} from '../../consumers/query/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { MetricsRegistry } from '../../consumers/runtime/index.ts';
import { createKafka, createRedis, getServices } from '../../infra/index.ts';
import { createQdrant } from '../../topology/connections/qdrant-client.ts';
import { percentile } from '../../infra/eval/index.ts';
import { SearchClient } from '../../producers/search-client/index.ts';
import {
  applyTopology,
  createTopology,
  DEFAULT_TENANT,
  layoutFor,
  loadConfig,
  pointId,
  topicSpecs,
  VECTOR_NAMES,
} from '../../topology/index.ts';
import { readScifact, readScifactQueries, SCIFACT_DIR } from '../support/corpus.ts';

const { values } = parseArgs({ options: { dataset: { type: 'string', default: SCIFACT_DIR } } });

const DOCUMENTS = Number(process.env.BENCH_DOCUMENTS ?? 300);
const TOP_K = 10;
const LEVELS: Array<{ concurrency: number; requests: number }> = [
  { concurrency: 1, requests: 150 },
  { concurrency: 16, requests: 400 },
  { concurrency: 64, requests: 640 },
];

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const started = performance.now();
const namespace = `bench-${randomUUID().slice(0, 8)}`;
const config = loadConfig({ ...process.env, SEARCHBUS_NAMESPACE: namespace });
const topology = createTopology(namespace);
const services = await getServices({ log });
const kafka = createKafka(services.kafka, 'bench-query');
const qdrant = createQdrant(services.qdrant);
const admin = kafka.admin();
await admin.connect();
await applyTopology({ admin, qdrant, topology, config });
const collection = topology.qdrant.collection(config.model.id, 1);
const encoder = await loadEncoder(config.model, { intraOpThreads: config.encoder.intraOpThreads });

const redis = createRedis(services.redis, 'bench-query-publisher');
const consumer = new QueryConsumer({
  kafka,
  qdrant,
  redis,
  topology,
  config,
  encoder: () => Promise.resolve(queryEncoder(encoder)),
  metrics: new MetricsRegistry(),
});
const client = new SearchClient({ kafka, redis: createRedis(services.redis, 'bench-query-client'), topology, defaultTimeoutMs: 30_000 });

try {
  // Index directly with the same encoder: the benchmark is about the query path.
  const docs = await readScifact(DOCUMENTS, values.dataset);
  const indexStarted = performance.now();
  for (let from = 0; from < docs.length; from += 64) {
    const slice = docs.slice(from, from + 64);
    const chunks = await encoder.embedChunks(
      slice.map((d) => `${d.title} ${d.text}`),
      { inputType: 'document' },
    );
    await qdrant.upsert(collection, {
      wait: true,
      points: slice.flatMap((d, i) =>
        chunks[i]!.map((c, chunk) => ({
          id: pointId(DEFAULT_TENANT, d.id, chunk),
          vector: { [VECTOR_NAMES.text]: Array.from(c.vector) },
          payload: {
            doc_id: d.id,
            chunk,
            chunks: chunks[i]!.length,
            title: d.title,
            text: c.text,
            metadata: {},
            tenant: DEFAULT_TENANT,
            model: config.model.id,
            ingested_at: new Date().toISOString(),
          },
        })),
      ),
    });
  }
  const { count } = await qdrant.count(collection, { exact: true });
  log(`indexed ${docs.length} documents (${count} chunks) in ${((performance.now() - indexStarted) / 1000).toFixed(1)} s`);

  const queries = await readScifactQueries(Infinity, values.dataset);

  await consumer.start();
  await client.connect();

  const viaBus = async (text: string): Promise<string[]> =>
    (await client.search({ text, topK: TOP_K, mode: 'dense' })).hits.map((h) => h.docId);
  const direct = async (text: string): Promise<string[]> => {
    const [vector] = await encoder.embed([text], { inputType: 'query' });
    const limit = initialLimit(TOP_K, config.query.oversampling, 1000);
    const request = chunkQuery(
      'dense',
      layoutFor(null),
      { dense: Array.from(vector!), sparse: null },
      toQdrantFilter(undefined, undefined),
      limit,
      hybridFusion(config.query),
    );
    const { points } = await qdrant.query(collection, { ...request, with_payload: HIT_PAYLOAD_FIELDS });
    return collapseToDocuments(points, TOP_K).map((h) => h.docId);
  };

  // Warm up both paths (JIT, connections, the consumer's alias cache) and check they agree.
  let agree = 0;
  for (const text of queries.slice(0, 30)) {
    const [a, b] = [await viaBus(text), await direct(text)];
    if (a.join() === b.join()) agree += 1;
  }
  log(`warm-up: bus and direct agree on ${agree}/30 rankings`);

  const rows: Array<{ path: string; concurrency: number; requests: number; p50: number; p95: number; p99: number; qps: number }> = [];
  for (const level of LEVELS) {
    for (const [path, run] of [
      ['bus', viaBus],
      ['direct', direct],
    ] as const) {
      const latencies: number[] = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: level.concurrency }, async () => {
          while (next < level.requests) {
            const text = queries[next++ % queries.length]!;
            const s = performance.now();
            await run(text);
            latencies.push(performance.now() - s);
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      rows.push({
        path,
        concurrency: level.concurrency,
        requests: level.requests,
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        p99: percentile(latencies, 99),
        qps: level.requests / seconds,
      });
      log(`${path} c=${level.concurrency}: done in ${seconds.toFixed(1)} s`);
    }
  }

  const f = (x: number): string => x.toFixed(1).padStart(8);
  console.log(
    `\nquery latency, ${docs.length} SciFact documents (${count} chunks), top ${TOP_K}, model ${config.model.id}, ${availableParallelism()} CPU cores`,
  );
  console.log('path     conc  requests    p50 ms    p95 ms    p99 ms     req/s');
  for (const r of rows)
    console.log(
      `${r.path.padEnd(8)} ${String(r.concurrency).padStart(4)} ${String(r.requests).padStart(9)} ${f(r.p50)}  ${f(r.p95)}  ${f(r.p99)}  ${f(r.qps)}`,
    );
  console.log('\nbus overhead (bus - direct), ms:');
  for (const level of LEVELS) {
    const bus = rows.find((r) => r.path === 'bus' && r.concurrency === level.concurrency)!;
    const dir = rows.find((r) => r.path === 'direct' && r.concurrency === level.concurrency)!;
    console.log(
      `  c=${String(level.concurrency).padEnd(3)} p50 ${(bus.p50 - dir.p50).toFixed(1)}  p95 ${(bus.p95 - dir.p95).toFixed(1)}  p99 ${(bus.p99 - dir.p99).toFixed(1)}  throughput ${(bus.qps / dir.qps).toFixed(2)}x`,
    );
  }
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
} finally {
  await client.close().catch(() => undefined);
  await consumer.close().catch(() => undefined);
  await redis.quit().catch(() => undefined);
  await encoder.close();
  const topics = topicSpecs(topology, config).map((t) => t.topic);
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await qdrant.deleteCollection(collection).catch(() => undefined);
  await admin.disconnect();
  await services.close();
}
