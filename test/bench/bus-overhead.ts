// Where the milliseconds of one search go, and what the bus costs over an in-process search.
//  1. Trace (concurrency 1): one search at a time through the real SearchClient and QueryConsumer,
//     each hop timestamped on one clock (this process runs both ends; the request topic uses
//     LogAppendTime so the broker stamps the append): client produce, broker append, consumer fetch
//     returns, decode, embed, Qdrant, Redis publish, client receives. Each bus search is paired
//     with a direct one (embed + Qdrant query + collapse in-process), alternating, so both see the
//     same load.
//  2. Levels: concurrency 1, 16 and 64, bus and direct alternating in two rounds each; latency
//     percentiles and the throughput ratio bus / direct.
// Run: node infra/cli/bin.mjs infra run -- node --import tsx test/bench/bus-overhead.ts
//        [--dataset <beir-dir>] [--trace 200] [--json <path>]
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import kafkajs, { type Consumer, type ConsumerRunConfig, type Kafka, type Producer } from 'kafkajs';
import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Redis } from 'ioredis';
import {
  collapseToDocuments,
  chunkQuery,
  HIT_PAYLOAD_FIELDS,
  hybridFusion,
  initialLimit,
  QueryConsumer,
  queryEncoder,
  toQdrantFilter,
  type QueryEncoder,
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

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: SCIFACT_DIR },
    trace: { type: 'string', default: '200' },
    documents: { type: 'string', default: '300' },
    json: { type: 'string' },
  },
});
const TRACE_SEARCHES = Number(values.trace);
const DOCUMENTS = Number(values.documents);
const TOP_K = 10;
const LEVELS = [
  { concurrency: 1, requests: 100 },
  { concurrency: 16, requests: 320 },
  { concurrency: 64, requests: 640 },
];

const log = (line: string): void => void process.stderr.write(`${line}\n`);
/** Epoch milliseconds with sub-millisecond resolution, comparable with the broker's LogAppendTime. */
const now = (): number => performance.timeOrigin + performance.now();

/** Timestamps of the search in flight (the trace runs one at a time). */
interface Trace {
  start?: number;
  sendStart?: number;
  acked?: number;
  appended?: number;
  fetched?: number;
  embedStart?: number;
  embedEnd?: number;
  qdrantStart?: number;
  qdrantEnd?: number;
  publishStart?: number;
  publishEnd?: number;
  received?: number;
  resolved?: number;
}
let trace: Trace | null = null;
const mark = (hop: keyof Trace, at = now()): void => {
  if (trace && trace[hop] === undefined) trace[hop] = at;
};

// Instrumentation by wrapping the clients the roles are given: no hook in the product code.
function tracedKafka(kafka: Kafka): Kafka {
  return new Proxy(kafka, {
    get(target, property, receiver) {
      if (property === 'consumer') {
        return (...args: Parameters<Kafka['consumer']>): Consumer => {
          const consumer = target.consumer(...args);
          const run = consumer.run.bind(consumer);
          consumer.run = (config?: ConsumerRunConfig) => {
            const eachBatch = config?.eachBatch;
            if (!eachBatch) return run(config);
            return run({
              ...config,
              eachBatch: (payload) => {
                mark('fetched');
                const first = payload.batch.messages[0];
                if (first) mark('appended', Number(first.timestamp));
                return eachBatch(payload);
              },
            });
          };
          return consumer;
        };
      }
      if (property === 'producer') {
        return (...args: Parameters<Kafka['producer']>): Producer => {
          const producer = target.producer(...args);
          const send = producer.send.bind(producer);
          producer.send = async (record) => {
            mark('sendStart');
            const result = await send(record);
            mark('acked');
            return result;
          };
          return producer;
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

function tracedEncoder(inner: QueryEncoder): QueryEncoder {
  return {
    modelId: inner.modelId,
    embedQueries: async (texts) => {
      mark('embedStart');
      const vectors = await inner.embedQueries(texts);
      mark('embedEnd');
      return vectors;
    },
  };
}

function tracedQdrant(qdrant: QdrantClient): QdrantClient {
  return new Proxy(qdrant, {
    get(target, property, receiver) {
      if (property === 'queryBatch') {
        return async (...args: Parameters<QdrantClient['queryBatch']>) => {
          mark('qdrantStart');
          const result = await target.queryBatch(...args);
          mark('qdrantEnd');
          return result;
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

function tracedPublisher(redis: Redis): Redis {
  return new Proxy(redis, {
    get(target, property, receiver) {
      if (property === 'pipeline') {
        return () => {
          const pipeline = target.pipeline();
          const exec = pipeline.exec.bind(pipeline);
          pipeline.exec = async () => {
            mark('publishStart');
            const result = await exec();
            mark('publishEnd');
            return result;
          };
          return pipeline;
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

const started = performance.now();
const namespace = `bench-${randomUUID().slice(0, 8)}`;
// Dense only on both sides: this measures the bus, not the retrieval mode.
const config = loadConfig({ ...process.env, SEARCHBUS_NAMESPACE: namespace, SEARCHBUS_SPARSE_ANALYZER: 'none' });
const topology = createTopology(namespace);
const services = await getServices({ log });
const kafka = createKafka(services.kafka, 'bench-bus');
const qdrant = createQdrant(services.qdrant);
const admin = kafka.admin();
await admin.connect();
await applyTopology({ admin, qdrant, topology, config });
// The broker stamps each request with its append time: the "broker append" hop.
await admin.alterConfigs({
  validateOnly: false,
  resources: [
    {
      type: kafkajs.ConfigResourceTypes.TOPIC,
      name: topology.topics.searchRequests,
      configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
    },
  ],
});
const collection = topology.qdrant.collection(config.model.id, 1);
const encoder = await loadEncoder(config.model, { intraOpThreads: config.encoder.intraOpThreads });

const publisher = createRedis(services.redis, 'bench-bus-publisher');
const subscriber = createRedis(services.redis, 'bench-bus-client');
subscriber.on('message', () => mark('received'));
const consumer = new QueryConsumer({
  kafka: tracedKafka(kafka),
  qdrant: tracedQdrant(qdrant),
  redis: tracedPublisher(publisher),
  topology,
  config,
  encoder: () => Promise.resolve(tracedEncoder(queryEncoder(encoder))),
  metrics: new MetricsRegistry(),
});
const client = new SearchClient({ kafka: tracedKafka(kafka), redis: subscriber, topology, defaultTimeoutMs: 30_000 });

type Stats = { p50: number; p99: number };
const stats = (xs: number[]): Stats => ({ p50: percentile(xs, 50), p99: percentile(xs, 99) });

try {
  const docs = await readScifact(DOCUMENTS, values.dataset);
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
  const queries = await readScifactQueries(Infinity, values.dataset);
  await consumer.start();
  await client.connect();

  const viaBus = async (text: string): Promise<string[]> => (await client.search({ text, topK: TOP_K })).hits.map((h) => h.docId);
  const direct = async (text: string): Promise<string[]> => {
    const [vector] = await encoder.embed([text], { inputType: 'query' });
    const request = chunkQuery(
      'dense',
      layoutFor(null),
      { dense: Array.from(vector!), sparse: null },
      toQdrantFilter(undefined, undefined),
      initialLimit(TOP_K, config.query.oversampling, 1000),
      hybridFusion(config.query),
    );
    const { points } = await qdrant.query(collection, { ...request, with_payload: HIT_PAYLOAD_FIELDS });
    return collapseToDocuments(points, TOP_K).map((h) => h.docId);
  };

  let agree = 0;
  for (const text of queries.slice(0, 30)) if ((await viaBus(text)).join() === (await direct(text)).join()) agree += 1;
  log(`warm-up: bus and direct agree on ${agree}/30 rankings`);

  // 1. The trace.
  const traces: Required<Trace>[] = [];
  const directMs: number[] = [];
  for (let i = 0; i < TRACE_SEARCHES; i++) {
    const text = queries[i % queries.length]!;
    trace = {};
    mark('start');
    await viaBus(text);
    mark('resolved');
    const done = trace;
    trace = null;
    if (Object.keys(done).length === 13) traces.push(done as Required<Trace>);
    const s = performance.now();
    await direct(text);
    directMs.push(performance.now() - s);
  }
  const hops: Array<[string, (t: Required<Trace>) => number]> = [
    ['client: request built, send called', (t) => t.sendStart - t.start],
    ['broker append (LogAppendTime, ms resolution)', (t) => t.appended - t.sendStart],
    ['consumer fetch returns', (t) => t.fetched - t.appended],
    ['decode + resolve collection', (t) => t.embedStart - t.fetched],
    ['embed', (t) => t.embedEnd - t.embedStart],
    ['embed -> Qdrant call', (t) => t.qdrantStart - t.embedEnd],
    ['Qdrant query', (t) => t.qdrantEnd - t.qdrantStart],
    ['collapse + reply JSON', (t) => t.publishStart - t.qdrantEnd],
    ['Redis publish -> client receives', (t) => t.received - t.publishStart],
    ['client: parse reply, resolve', (t) => t.resolved - t.received],
    ['total through the bus', (t) => t.resolved - t.start],
    ['(produce acknowledged, after send)', (t) => t.acked - t.sendStart],
  ];
  const traceRows = hops.map(([hop, f]) => {
    const xs = traces.map(f);
    return { hop, p50: percentile(xs, 50), p90: percentile(xs, 90), p99: percentile(xs, 99) };
  });
  const inference = traces.map((t) => t.embedEnd - t.embedStart + (t.qdrantEnd - t.qdrantStart));
  const busTotal = traces.map((t) => t.resolved - t.start);

  // 2. Levels, bus and direct alternating.
  const levels: Array<{ concurrency: number; bus: Stats & { qps: number }; direct: Stats & { qps: number } }> = [];
  for (const level of LEVELS) {
    const acc = { bus: { ms: [] as number[], seconds: 0, n: 0 }, direct: { ms: [] as number[], seconds: 0, n: 0 } };
    for (let round = 0; round < 2; round++) {
      for (const [path, run] of [
        ['bus', viaBus],
        ['direct', direct],
      ] as const) {
        let next = 0;
        const requests = level.requests / 2;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: level.concurrency }, async () => {
            while (next < requests) {
              const text = queries[(round * requests + next++) % queries.length]!;
              const s = performance.now();
              await run(text);
              acc[path].ms.push(performance.now() - s);
            }
          }),
        );
        acc[path].seconds += (performance.now() - t0) / 1000;
        acc[path].n += requests;
      }
    }
    levels.push({
      concurrency: level.concurrency,
      bus: { ...stats(acc.bus.ms), qps: acc.bus.n / acc.bus.seconds },
      direct: { ...stats(acc.direct.ms), qps: acc.direct.n / acc.direct.seconds },
    });
    log(`c=${level.concurrency} done`);
  }

  const level = (c: number) => levels.find((l) => l.concurrency === c)!;
  const overhead = (c: number): Stats => ({ p50: level(c).bus.p50 - level(c).direct.p50, p99: level(c).bus.p99 - level(c).direct.p99 });
  const traceBus = stats(busTotal);
  const traceDirect = stats(directMs);
  const result = {
    documents: docs.length,
    model: config.model.id,
    load_average: loadavg(),
    trace: {
      searches: traces.length,
      hops: traceRows,
      bus_ms: traceBus,
      direct_ms: traceDirect,
      inference_ms: stats(inference),
      overhead_ms: { p50: traceBus.p50 - traceDirect.p50, p99: traceBus.p99 - traceDirect.p99 },
    },
    levels,
    bus_overhead_ms: { c1: overhead(1), c16: overhead(16) },
    bus_throughput_ratio: { c16: level(16).bus.qps / level(16).direct.qps, c64: level(64).bus.qps / level(64).direct.qps },
  };

  const f = (x: number): string => x.toFixed(2).padStart(8);
  console.log(
    `\none search, hop by hop (${traces.length} searches at concurrency 1, ${docs.length} docs, ${config.model.id}, ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(1)})`,
  );
  console.log(`${'hop'.padEnd(46)}   p50 ms   p90 ms   p99 ms`);
  for (const r of traceRows) console.log(`${r.hop.padEnd(46)} ${f(r.p50)} ${f(r.p90)} ${f(r.p99)}`);
  console.log(
    `direct (in-process embed + Qdrant + collapse), paired: p50 ${traceDirect.p50.toFixed(2)} p99 ${traceDirect.p99.toFixed(2)} ms`,
  );
  console.log(`\n${'conc'.padStart(4)}  bus p50/p99 ms      direct p50/p99 ms   bus req/s  direct req/s  ratio`);
  for (const l of levels) {
    console.log(
      `${String(l.concurrency).padStart(4)}  ${f(l.bus.p50)} ${f(l.bus.p99)}   ${f(l.direct.p50)} ${f(l.direct.p99)}   ${f(l.bus.qps)}  ${f(l.direct.qps)}  ${(l.bus.qps / l.direct.qps).toFixed(2)}x`,
    );
  }
  console.log(
    `bus overhead c1: p50 +${result.bus_overhead_ms.c1.p50.toFixed(2)} ms, p99 +${result.bus_overhead_ms.c1.p99.toFixed(2)} ms; total ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await client.close().catch(() => undefined);
  await consumer.close().catch(() => undefined);
  await publisher.quit().catch(() => undefined);
  await encoder.close();
  await admin.deleteTopics({ topics: topicSpecs(topology, config).map((t) => t.topic) }).catch(() => undefined);
  await qdrant.deleteCollection(collection).catch(() => undefined);
  await admin.disconnect();
  await services.close();
}
