// Watches: match latency from publish to match event (p50/p99), and how fast the matcher goes
// through the index change feed with many watches, against how fast the encoders fill it.
// Run: node --import tsx test/bench/watch-matching.ts [--watches 100000] [--latency 200] [--documents 2000] [--json <file>]
//   (under `searchbus infra run -- …`, or it starts local services)
// The watches: a few real ones ("volcanic eruptions" and others, through WatchRegistry) among
// `--watches` synthetic ones of the same tenant (random unit vectors, threshold 0.9: they cost a
// reverse search as real ones do, and match next to nothing), written to the watch collection in bulk.
// Memory of the watch collection: Qdrant's collection info, its folder on disk, and the resident set
// of the local Qdrant process before the watches, after writing them, and after the latency phase
// (which searched the whole collection once per sample); not measured for a Qdrant searchbus did not start.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { queryEncoder } from '../../consumers/query/index.ts';
import { MetricsRegistry } from '../../consumers/runtime/index.ts';
import { WatchMatcher, WatchRegistry } from '../../consumers/watch/index.ts';
import { startEncoderStack } from './encoder-stack.ts';
import { collectionDiskBytes, localQdrant, rssBytes } from './process-memory.ts';
import { percentile } from '../../infra/eval/index.ts';
import { createRedis } from '../../infra/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { WatchClient } from '../../producers/watch-client/index.ts';
import { closeAll, type MatchEventV1 } from '../../topology/index.ts';

const { values } = parseArgs({
  options: {
    watches: { type: 'string', default: '100000' },
    latency: { type: 'string', default: '200' },
    documents: { type: 'string', default: '2000' },
    json: { type: 'string' },
  },
});
const WATCHES = Number(values.watches);
const LATENCY_SAMPLES = Number(values.latency);
const DOCUMENTS = Number(values.documents);
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const { namespace, config, topology, services, kafka, qdrant, admin, model, metrics, closers } = await startEncoderStack('watch', log);
const dedupe = createRedis(services.redis, 'bench-watch-dedupe');
const embedQueries = (): Promise<(texts: string[]) => Promise<Float32Array[]>> => {
  const encoder = queryEncoder(model);
  return Promise.resolve((texts) => encoder.embedQueries(texts));
};
const matcherOptions = { kafka, qdrant, redis: dedupe, topology, config, embedQueries, fromBeginning: true };
const matcher = new WatchMatcher({ ...matcherOptions, metrics });
await matcher.start();
const registry = new WatchRegistry({ qdrant, topology, config, embedQueries });
const client = new WatchClient({ kafka, topology, registry });
const producer = new IngestProducer({ kafka, topic: topology.topics.ingest });

const qdrantProcess = await localQdrant(services.qdrant.url);
const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
const qdrantRss = (): number | null => (qdrantProcess ? mib(rssBytes(qdrantProcess.pid)) : null);
const rssBefore = qdrantRss();

const TENANT = 'bench';
const topics = ['volcanic eruptions', 'baking bread', 'football results', 'stock markets', 'rain forecast'];
const real = await Promise.all(topics.map((text) => client.add({ query: { text }, tenant: TENANT, threshold: 0.7 })));
const volcano = real[0]!;

// Synthetic watches, written in bulk beside the real ones.
const collection = topology.qdrant.watchCollection(config.model.id);
const dimension = config.model.dimension;
const loadStarted = performance.now();
for (let done = 0; done < WATCHES;) {
  const size = Math.min(1000, WATCHES - done);
  const points = Array.from({ length: size }, () => {
    const id = randomUUID();
    const v = Array.from({ length: dimension }, () => Math.random() - 0.5);
    const norm = Math.hypot(...v);
    return {
      id,
      vector: { text: v.map((x) => x / norm) },
      payload: {
        watch_id: id,
        tenant: TENANT,
        query: { text: 'synthetic' },
        filter: null,
        threshold: 0.9,
        created_at: new Date().toISOString(),
      },
    };
  });
  await qdrant.upsert(collection, { wait: true, points });
  done += size;
  if (done % 20_000 === 0 || done === WATCHES) log(`  ${done} synthetic watches written`);
}
const loadSeconds = (performance.now() - loadStarted) / 1000;
const rssAfterWrite = qdrantRss();

// Latency: one lava document at a time, publish -> its match event on the tail.
const arrived = new Map<string, number>();
const allMatches: MatchEventV1[] = [];
const tail = client.tail({ tenant: TENANT }, (m) => {
  allMatches.push(m);
  if (m.watchId === volcano.id && !arrived.has(m.id)) arrived.set(m.id, performance.now());
});
await tail.ready;
const waitFor = async (check: () => boolean, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
};
const latencies: number[] = [];
let missed = 0;
for (let i = 0; i < LATENCY_SAMPLES; i++) {
  const id = `lava-${i}`;
  const started = performance.now();
  await producer.upsert([{ id, tenant: TENANT, text: `Eruption ${i}: molten lava poured down the slopes of the volcano.` }]);
  if (await waitFor(() => arrived.has(id), 30_000)) latencies.push(arrived.get(id)! - started);
  else missed++;
}
const rssAfterLatency = qdrantRss();
const info = await qdrant.getCollection(collection);
const diskBytes = qdrantProcess?.storage ? await collectionDiskBytes(qdrantProcess.storage, collection) : null;
const volcanoScores = allMatches.filter((m) => m.watchId === volcano.id).map((m) => m.score);

// Throughput: DOCUMENTS documents at once; how long the encoders take to put them on the feed, and
// how long a matcher (a fresh group replaying the whole feed) takes to match them.
const feedEnd = async (): Promise<number> =>
  (await admin.fetchTopicOffsets(topology.topics.indexed)).reduce((sum, p) => sum + Number(p.offset), 0);
const feedBefore = await feedEnd();
const ingestStarted = performance.now();
const docs = Array.from({ length: DOCUMENTS }, (_, i) => ({
  id: `doc-${i}`,
  tenant: TENANT,
  text: `${['Lava', 'Bread', 'Goals', 'Shares', 'Clouds'][i % 5]} report number ${i}: a paragraph of news about ${topics[i % 5]}.`,
}));
for (let i = 0; i < docs.length; i += 500) await producer.upsert(docs.slice(i, i + 500));
const feedTarget = feedBefore + DOCUMENTS;
while ((await feedEnd()) < feedTarget) await new Promise((resolve) => setTimeout(resolve, 50));
const ingestSeconds = (performance.now() - ingestStarted) / 1000;
const totalFeed = await feedEnd();
const replayMetrics = new MetricsRegistry();
const replay = new WatchMatcher({ ...matcherOptions, metrics: replayMetrics, groupId: `${namespace}.bench-replay` });
// Same dedupe keys: it finds every match already announced and publishes none (the redelivery
// path); it reads, searches and checks as the live matcher did.
await replay.start();
// Timed from the join on: the group join is a one-off, not matching.
const replayStarted = performance.now();
const processedByReplay = (): Promise<number> =>
  replayMetrics.value('searchbus_messages_processed_total', { role: 'watch-matcher', topic: topology.topics.indexed });
while ((await processedByReplay()) < totalFeed) await new Promise((resolve) => setTimeout(resolve, 50));
const replaySeconds = (performance.now() - replayStarted) / 1000;

const report = {
  date: new Date().toISOString(),
  model: config.model.id,
  cores: availableParallelism(),
  load: loadavg().map((l) => Math.round(l * 100) / 100),
  watches: WATCHES + real.length,
  watchLoadSeconds: Math.round(loadSeconds * 10) / 10,
  watchCollection: {
    name: collection,
    points: info.points_count,
    indexedVectors: info.indexed_vectors_count,
    segments: info.segments_count,
    vectors: info.config.params.vectors,
    diskMiB: diskBytes === null ? null : mib(diskBytes),
    qdrantRssMiB: { beforeWatches: rssBefore, afterWriting: rssAfterWrite, afterLatencyPhase: rssAfterLatency },
  },
  latency: {
    samples: latencies.length,
    missed,
    p50Ms: Math.round(percentile(latencies, 50)),
    p99Ms: Math.round(percentile(latencies, 99)),
    volcanoScores: { min: Math.min(...volcanoScores), max: Math.max(...volcanoScores) },
  },
  throughput: {
    documents: DOCUMENTS,
    encodersDocsPerSecond: Math.round(DOCUMENTS / ingestSeconds),
    matcherFeedEvents: totalFeed,
    matcherEventsPerSecond: Math.round(totalFeed / replaySeconds),
    matchEvents: allMatches.length,
  },
};
log(JSON.stringify(report, null, 2));
if (values.json) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);

await closeAll('the watch benchmark', [
  { name: 'tail', run: () => tail.close() },
  { name: 'replay matcher', run: () => replay.close() },
  { name: 'matcher', run: () => matcher.close() },
  { name: 'producer', run: () => producer.close() },
  { name: 'dedupe redis', run: async () => void (await dedupe.quit()) },
  ...closers,
]);
