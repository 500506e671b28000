// Ingest against the encoder alone, CPU per process, resident memory per role, and freshness at
// half of peak ingest, on real services with the encoder and query roles as separate
// `searchbus run <role>` processes.
//  1. Encoder alone: this process embeds the documents (groups of SEARCHBUS_ENCODER_MAX_BATCH_SIZE,
//     as the consumer receives them) with the same model and settings as the encoder role.
//  2. Ingest: the same documents published, until every chunk is in Qdrant. 1 and 2 alternate
//     over four quarters of the corpus, so a change of load reaches both; each rate is documents
//     over summed time. Meanwhile CPU time (utime + stime from /proc) of the encoder role, Kafka,
//     Qdrant, Redis and this process, and the resident set of every process, sampled.
//  3. Freshness: fresh documents published at half of step 2's rate, each timed from its publish
//     to the moment its first chunk is retrievable (polled every 5 ms). Then 320 searches, 16 at a
//     time, for the query role's peak memory.
// Run: node infra/cli/bin.mjs infra run -- node --import tsx test/bench/ingest-report.ts
//        [--dataset <beir-dir>] [--docs N|all] [--fresh-seconds 30] [--json <path>]
import { createWriteStream, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { documentText, indexDocuments, inGroups } from '../../consumers/encoder/index.ts';
import { describeCollection } from '../../consumers/runtime/index.ts';
import { documentEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { createRedis } from '../../infra/index.ts';
import { listEntries } from '../../infra/local/index.ts';
import { percentile } from '../../infra/eval/index.ts';
import { IngestProducer } from '../../producers/ingest/index.ts';
import { SearchClient } from '../../producers/search-client/index.ts';
import { DEFAULT_TENANT, pointId } from '../../topology/index.ts';
import { createHarness, waitFor } from '../support/harness.ts';
import { readScifact, readScifactQueries, SCIFACT_DIR } from '../support/corpus.ts';
import { startRoleProcess } from '../support/role-process.ts';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: SCIFACT_DIR },
    docs: { type: 'string', default: 'all' },
    'fresh-seconds': { type: 'string', default: '30' },
    json: { type: 'string' },
  },
});
const docLimit = values.docs === 'all' ? Infinity : Number(values.docs);
const freshMs = Number(values['fresh-seconds']) * 1000;
const log = (line: string): void => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const MB = 2 ** 20;
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}
function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}
/** Sum and count of histograms on a role's /metrics, by series name with labels (e.g. `searchbus_batch_size{role="encoder"}`). */
async function histogramTotals(port: number): Promise<Map<string, { sum: number; count: number }>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const totals = new Map<string, { sum: number; count: number }>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)_(sum|count)(\{[^}]*\})? ([0-9.eE+-]+)$/.exec(line);
    if (!match) continue;
    const key = `${match[1]}${match[3] ?? ''}`;
    const entry = totals.get(key) ?? { sum: 0, count: 0 };
    entry[match[2] as 'sum' | 'count'] = Number(match[4]);
    totals.set(key, entry);
  }
  return totals;
}
/** Mean of a histogram over an interval: the change of its sum over the change of its count. */
function meanBetween(
  before: Map<string, { sum: number; count: number }>,
  after: Map<string, { sum: number; count: number }>,
  key: string,
): { mean: number; count: number } {
  const a = after.get(key) ?? { sum: 0, count: 0 };
  const b = before.get(key) ?? { sum: 0, count: 0 };
  const count = a.count - b.count;
  return { mean: count > 0 ? (a.sum - b.sum) / count : NaN, count };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

const h = await createHarness();
const encoder = await loadEncoder(h.config.model);
const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
const client = new SearchClient({
  kafka: h.kafka,
  redis: createRedis(h.services.redis, 'ingest-report-client'),
  topology: h.topology,
  defaultTimeoutMs: 30_000,
});
const roles: Array<{ name: string; child: ChildProcess; port: number }> = [];
try {
  for (const name of ['encoder', 'query']) {
    const port = await freePort();
    const child = startRoleProcess(h, name, { SEARCHBUS_METRICS_PORT: String(port) });
    child.stderr?.pipe(createWriteStream(join(tmpdir(), `ingest-report-${h.namespace}-${name}.log`)));
    roles.push({ name, child, port });
  }
  for (const role of roles) {
    await waitFor(
      `${role.name} ready`,
      async () => {
        if (role.child.exitCode !== null) throw new Error(`${role.name} exited with ${role.child.exitCode}`);
        return (await fetch(`http://127.0.0.1:${role.port}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined;
      },
      300_000,
      250,
    );
  }
  await client.connect();

  // Every process to watch: the roles, the local services (by their endpoints in the process
  // registry; services given by URL are not on this machine and are left out), and this process.
  const endpoints = new Map<string, string>([
    ['kafka', h.services.kafka.brokers[0] ?? ''],
    ['qdrant', h.services.qdrant.url],
    ['redis', h.services.redis.url],
  ]);
  const processes = new Map<string, number>(roles.map((r) => [r.name, r.child.pid!]));
  for (const entry of await listEntries()) {
    for (const [service, endpoint] of endpoints)
      if (entry.service === service && endpoint.includes(entry.endpoint.replace(/^[a-z]+:\/\//, ''))) processes.set(service, entry.pid);
  }
  processes.set('bench (producer, client)', process.pid);
  log(`watching ${[...processes].map(([n, p]) => `${n} ${p}`).join(', ')}`);
  const rssIdle = Object.fromEntries([...processes].map(([n, p]) => [n, rssBytes(p) / MB]));
  const rssPeak: Record<string, number> = { ...rssIdle };
  const sampler = setInterval(() => {
    for (const [n, p] of processes) rssPeak[n] = Math.max(rssPeak[n] ?? 0, rssBytes(p) / MB);
  }, 250);

  const docs = await readScifact(docLimit, values.dataset);
  const doc = documentEncoder(encoder);
  const chunkCount = (d: { title: string; text: string }): number => encoder.chunk(documentText(d)).length;
  const chunks = docs.reduce((sum, d) => sum + chunkCount(d), 0);

  // 1 and 2 in alternating rounds: a quarter of the corpus through the encoder alone, the same
  // quarter through the whole pipeline, and so on; each side's rate is its documents over its
  // summed time, so a change of the machine's load lands on both sides alike.
  const ROUNDS = 4;
  let aloneSeconds = 0;
  let ingestSeconds = 0;
  let aloneCpuSeconds = 0;
  let expectedChunks = 0;
  const ticks = new Map([...processes].map(([n]) => [n, 0]));
  const perRound = Math.ceil(docs.length / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    const slice = docs.slice(round * perRound, (round + 1) * perRound);
    if (slice.length === 0) break;
    const cpu0 = process.cpuUsage();
    const a0 = performance.now();
    for (const group of inGroups(
      slice.map((d) => documentText(d)),
      h.config.encoder.maxBatchSize,
    ))
      await doc.encodeDocuments(group);
    aloneSeconds += (performance.now() - a0) / 1000;
    const used = process.cpuUsage(cpu0);
    aloneCpuSeconds += (used.user + used.system) / 1e6;

    expectedChunks += slice.reduce((sum, d) => sum + chunkCount(d), 0);
    const before = new Map([...processes].map(([n, p]) => [n, cpuTicks(p)]));
    const i0 = performance.now();
    await producer.upsert(slice);
    await waitFor(
      'every chunk indexed',
      async () => ((await h.qdrant.count(h.topology.qdrant.alias, { exact: true })).count >= expectedChunks ? true : undefined),
      3_600_000,
      50,
    );
    ingestSeconds += (performance.now() - i0) / 1000;
    for (const [n, p] of processes) ticks.set(n, ticks.get(n)! + cpuTicks(p) - before.get(n)!);
    log(
      `round ${round + 1}/${ROUNDS}: encoder alone ${aloneSeconds.toFixed(1)} s, ingest ${ingestSeconds.toFixed(1)} s so far; load ${loadavg()[0]!.toFixed(1)}`,
    );
  }
  const alone = docs.length / aloneSeconds;
  const ingestRate = docs.length / ingestSeconds;
  const cpu = Object.fromEntries([...processes].map(([n]) => [n, { cores: ticks.get(n)! / TICKS_PER_SECOND / ingestSeconds }]));
  log(
    `encoder alone ${alone.toFixed(2)} docs/s, ingest ${ingestRate.toFixed(2)} docs/s (${docs.length} docs, ${chunks} chunks); CPU ${JSON.stringify(cpu)}`,
  );

  // 3. Freshness at half of the measured peak, with searches running.
  const rate = ingestRate / 2;
  const pending = new Map<string, number>();
  const freshness: number[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling || pending.size > 0) {
      const ids = [...pending.keys()];
      if (ids.length > 0) {
        const found = await h.qdrant.retrieve(h.topology.qdrant.alias, {
          ids: ids.map((id) => pointId(DEFAULT_TENANT, id, 0)),
          with_payload: ['doc_id'],
        });
        const at = performance.now();
        for (const p of found) {
          const id = String(p.payload?.doc_id);
          const published = pending.get(id);
          if (published !== undefined) {
            freshness.push(at - published);
            pending.delete(id);
          }
        }
      }
      await delay(5);
    }
  })();
  const encoderPort = roles.find((r) => r.name === 'encoder')!.port;
  const metricsBefore = await histogramTotals(encoderPort);
  const freshStart = performance.now();
  let published = 0;
  while (performance.now() - freshStart < freshMs) {
    const due = Math.floor(((performance.now() - freshStart) / 1000) * rate) - published;
    for (let i = 0; i < due; i++) {
      const source = docs[(published + i) % docs.length]!;
      const id = `fresh-${published + i}`;
      const sent = performance.now();
      pending.set(id, sent);
      await producer.upsert([{ id, title: source.title, text: source.text }]);
    }
    published += Math.max(0, due);
    await delay(10);
  }
  polling = false;
  await poller;
  // The encoder's side of the freshness, from its own histograms over the same interval: how big
  // its batches were, how long handling one took (embed + Qdrant writes), and record timestamp ->
  // writes acknowledged (queueing behind the batch in hand + fetch + handling).
  const metricsAfter = await histogramTotals(encoderPort);
  const ms = (x: { mean: number; count: number }): { mean_ms: number; count: number } => ({ mean_ms: x.mean * 1000, count: x.count });
  const freshnessHops = {
    publish_to_retrievable_mean_ms: freshness.reduce((a, b) => a + b, 0) / freshness.length,
    encoder_record_to_written: ms(meanBetween(metricsBefore, metricsAfter, 'searchbus_freshness_seconds{role="encoder"}')),
    encoder_handle_per_batch: ms(meanBetween(metricsBefore, metricsAfter, 'searchbus_handle_seconds{role="encoder"}')),
    encoder_batch_size_mean: meanBetween(metricsBefore, metricsAfter, 'searchbus_batch_size{role="encoder"}').mean,
  };
  log(`freshness hops: ${JSON.stringify(freshnessHops)}`);

  // Inside one small batch: the encoder's own indexing code (indexDocuments: embed, Qdrant upsert,
  // Qdrant delete of stale chunks; all but the offset commit) run here on batches of the size the
  // freshness run produced, each phase timed, while the encoder role is idle.
  const probeSize = Math.max(1, Math.round(freshnessHops.encoder_batch_size_mean || 1));
  const behindAlias = (await h.qdrant.getAliases()).aliases.find((a) => a.alias_name === h.topology.qdrant.alias)?.collection_name;
  if (!behindAlias) throw new Error(`alias ${h.topology.qdrant.alias} points nowhere`);
  const live = await describeCollection(h.qdrant, behindAlias);
  const phases: Record<string, number[]> = { embed: [], 'qdrant upsert': [], 'qdrant delete': [], batch: [] };
  for (let i = 0; i < 20; i++) {
    const batch = Array.from({ length: probeSize }, (_, j) => {
      const source = docs[(i * probeSize + j) % docs.length]!;
      return {
        kind: 'upsert' as const,
        tenant: DEFAULT_TENANT,
        id: `probe-${i}-${j}`,
        document: { schemaVersion: 1 as const, id: `probe-${i}-${j}`, title: source.title, text: source.text },
      };
    });
    const t0 = performance.now();
    await indexDocuments(batch, {
      qdrant: h.qdrant,
      collection: h.topology.qdrant.alias,
      encoder: doc,
      layout: live.layout,
      step: async (name, run) => {
        const s = performance.now();
        try {
          return await run();
        } finally {
          phases[name]!.push(performance.now() - s);
        }
      },
    });
    phases.batch!.push(performance.now() - t0);
  }
  const smallBatch = {
    documents: probeSize,
    ...Object.fromEntries(Object.entries(phases).map(([name, xs]) => [`${name.replace(' ', '_')}_p50_ms`, percentile(xs, 50)])),
  };
  log(`one small batch, by phase: ${JSON.stringify(smallBatch)}`);

  // The query role at work, for its peak memory: 16 searches at a time, 320 in all.
  const queries = await readScifactQueries(Infinity, values.dataset);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < 320) await client.search({ text: queries[next++ % queries.length]!, topK: 10 });
    }),
  );
  clearInterval(sampler);
  for (const [n, p] of processes) rssPeak[n] = Math.max(rssPeak[n] ?? 0, rssBytes(p) / MB);

  const result = {
    documents: docs.length,
    chunks,
    model: h.config.model.id,
    load_average: loadavg(),
    rounds: ROUNDS,
    encoder_alone_docs_per_s: alone,
    encoder_alone_cpu_cores: aloneCpuSeconds / aloneSeconds,
    ingest_docs_per_s: ingestRate,
    ingest_vs_encoder: ingestRate / alone,
    cpu_cores_during_ingest: cpu,
    freshness_ms: {
      p50: percentile(freshness, 50),
      p99: percentile(freshness, 99),
      load_docs_per_s: published / (freshMs / 1000),
      documents: freshness.length,
    },
    freshness_hops: { ...freshnessHops, small_batch: smallBatch },
    rss_mb: Object.fromEntries([...processes].map(([n]) => [n, { idle: rssIdle[n], peak: rssPeak[n] }])),
  };
  console.log(JSON.stringify(result, null, 2));
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await client.close().catch(() => undefined);
  await producer.close().catch(() => undefined);
  for (const role of roles) {
    role.child.kill('SIGTERM');
    if (role.child.exitCode === null) await new Promise((resolve) => role.child.once('exit', resolve));
  }
  await encoder.close();
  await h.close();
}
