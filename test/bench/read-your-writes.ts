// Read your writes: publish a document, search for it at once. Misses without `after` and with it,
// and what `after` adds to a search whose position is already indexed (the hot path: no read of
// the offsets), through the bus and inside the query consumer.
// Run: node --import tsx test/bench/read-your-writes.ts [--pairs 1000] [--json <file>]
//   (or `npm run bench -- --only after`; under `searchbus infra run -- …`, or it starts local services)
// Each document is alone in a tenant of its own, so a search of that tenant finds it iff it is indexed.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { QueryConsumer, queryEncoder } from '../../consumers/query/index.ts';
import { startEncoderStack } from './encoder-stack.ts';
import { percentile } from '../../infra/eval/index.ts';
import { createRedis } from '../../infra/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { SearchClient } from '../../producers/search-client/index.ts';
import { closeAll, decodePosition, encodePosition, isCovered, positionOf } from '../../topology/index.ts';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '1000' }, json: { type: 'string' } } });
const PAIRS = Number(values.pairs);
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const { namespace, config, topology, services, kafka, qdrant, model, metrics, closers } = await startEncoderStack('ryw', log);
const publisher = createRedis(services.redis, 'bench-ryw-publish');
const consumer = new QueryConsumer({
  kafka,
  qdrant,
  redis: publisher,
  topology,
  config,
  encoder: () => Promise.resolve(queryEncoder(model)),
  metrics,
});
await consumer.start();
const client = new SearchClient({ kafka, redis: createRedis(services.redis, 'bench-ryw-client'), topology, defaultTimeoutMs: 10_000 });
await client.connect();
const producer = new IngestProducer({ kafka, topic: topology.topics.ingest });

interface Published {
  tenant: string;
  id: string;
  text: string;
  position: string;
}
const publishOne = async (): Promise<Published> => {
  const tenant = `b-${randomUUID().slice(0, 12)}`;
  const id = `doc-${randomUUID().slice(0, 8)}`;
  const text = `Field notes for ${tenant}: the lighthouse keeper logs the tide at dawn and the gulls at dusk.`;
  return { tenant, id, text, position: await producer.upsert([{ id, tenant, text }]) };
};
const ms = (from: number): number => performance.now() - from;
const round = (x: number): number => Math.round(x * 100) / 100;
const summary = (xs: number[]): { p50: number; p99: number; mean: number } => ({
  p50: round(percentile(xs, 50)),
  p99: round(percentile(xs, 99)),
  mean: round(xs.reduce((a, b) => a + b, 0) / xs.length),
});

/** Publish, then search at once; a miss is a reply whose first hit is not the document (or an error). */
async function pairs(
  withAfter: boolean,
  count = PAIRS,
): Promise<{ misses: number; errors: number; latency: ReturnType<typeof summary>; found: Published[] }> {
  let misses = 0;
  let errors = 0;
  const latencies: number[] = [];
  const found: Published[] = [];
  for (let i = 0; i < count; i++) {
    const doc = await publishOne();
    const started = performance.now();
    try {
      const result = await client.search({ text: doc.text, tenant: doc.tenant, topK: 3, ...(withAfter ? { after: doc.position } : {}) });
      latencies.push(ms(started));
      if (result.hits[0]?.docId === doc.id) found.push(doc);
      else misses += 1;
    } catch (error) {
      errors += 1;
      misses += 1;
      log(`search failed: ${(error as Error).message}`);
    }
  }
  return { misses, errors, latency: summary(latencies), found };
}

/** Searches of documents already indexed, alternating without and with their (covered) position. */
async function addedLatency(docs: Published[], rounds: number): Promise<{ without: number[]; with: number[] }> {
  const without: number[] = [];
  const withAfter: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const doc = docs[i % docs.length]!;
    for (const after of i % 2 === 0 ? [false, true] : [true, false]) {
      const started = performance.now();
      await client.search({ text: doc.text, tenant: doc.tenant, topK: 3, ...(after ? { after: doc.position } : {}) });
      (after ? withAfter : without).push(ms(started));
    }
  }
  return { without, with: withAfter };
}

/** The consumer's own check of a covered request, without the bus: decode the token and compare offsets. */
function checkCostMicros(): number {
  const token = encodePosition(positionOf(topology.topics.ingest, [{ partition: 1, offset: 12_345n }]));
  const bounds = new Map([
    [0, 20_000n],
    [1, 20_000n],
    [2, 20_000n],
  ]);
  const n = 200_000;
  let covered = 0;
  const started = performance.now();
  for (let i = 0; i < n; i++) if (isCovered(decodePosition(token), bounds)) covered += 1;
  if (covered !== n) throw new Error('the covered position was not covered');
  return round((ms(started) * 1000) / n);
}

const load = loadavg();
log(`read-your-writes: ${PAIRS} pairs each way, namespace ${namespace}, ${availableParallelism()} cores`);
// Warm-up (first searches, the first reads of the offsets), not counted.
await pairs(true, 20);
await pairs(false, 20);
const withoutAfter = await pairs(false);
log(`without after: ${withoutAfter.misses} misses of ${PAIRS}, latency ${JSON.stringify(withoutAfter.latency)} ms`);
const readsBefore = consumer.positions.reads;
const withAfter = await pairs(true);
const readsDuring = consumer.positions.reads - readsBefore;
log(
  `with after: ${withAfter.misses} misses of ${PAIRS}, latency ${JSON.stringify(withAfter.latency)} ms, ${readsDuring} reads of the offsets`,
);
const readsBeforeHot = consumer.positions.reads;
const hot = await addedLatency(withAfter.found, PAIRS);
const hotReads = consumer.positions.reads - readsBeforeHot;
const added = {
  p50: round(percentile(hot.with, 50) - percentile(hot.without, 50)),
  p99: round(percentile(hot.with, 99) - percentile(hot.without, 99)),
};
log(
  `already indexed, ${hot.with.length} each: without ${JSON.stringify(summary(hot.without))}, with ${JSON.stringify(summary(hot.with))}; added ${JSON.stringify(added)} ms, ${hotReads} reads`,
);
const checkMicros = checkCostMicros();
log(`the consumer's check of a covered position: ${checkMicros} µs`);

const result = {
  pairs: PAIRS,
  model: config.model.id,
  cores: availableParallelism(),
  load_average_start: load,
  load_average_end: loadavg(),
  without_after: { misses: withoutAfter.misses, errors: withoutAfter.errors, latency_ms: withoutAfter.latency },
  with_after: { misses: withAfter.misses, errors: withAfter.errors, latency_ms: withAfter.latency, offset_reads: readsDuring },
  already_indexed: {
    searches_each: hot.with.length,
    without_after_ms: summary(hot.without),
    with_after_ms: summary(hot.with),
    added_ms: added,
    offset_reads: hotReads,
    check_micros: checkMicros,
  },
};
if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
process.stdout.write(`${JSON.stringify(result)}\n`);

await closeAll('the read-your-writes bench', [
  { name: 'close the search client', run: () => client.close() },
  { name: 'close the producer', run: () => producer.close() },
  { name: 'close the query consumer', run: () => consumer.close() },
  { name: 'quit the publishing Redis', run: async () => void (await publisher.quit()) },
  ...closers,
]);
