// Soak benchmark (not run in CI): the encoder and query roles as separate `searchbus run <role>`
// processes on real services, fed at half of their measured peak ingest rate for --minutes while
// --concurrency search loops run without pause. Checks at the end: every published document is in
// Qdrant exactly once with the right chunks (by id), no search failed, and how each role's
// resident set (VmRSS from /proc, so Linux only) moved after warm-up.
// Run: node infra/cli/bin.mjs infra run -- node --import tsx test/bench/soak.ts [--minutes 10]
//        [--peak <docs/s>] [--peak-docs 200] [--dataset <beir-dir>] [--concurrency 8]
//        [--sample-seconds 10] [--warmup-seconds 60] [--json]
// Exits 1 when a document is lost or duplicated or a search failed.
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { documentText } from '../../consumers/encoder/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { createRedis } from '../../infra/index.ts';
import { percentile } from '../../infra/eval/index.ts';
import { IngestProducer, type DocumentInput } from '../../producers/ingest/index.ts';
import { SearchClient } from '../../producers/search-client/index.ts';
import { allPoints, createHarness, waitFor } from '../support/harness.ts';
import { readScifact, readScifactQueries, SCIFACT_DIR } from '../support/corpus.ts';
import { startRoleProcess } from '../support/role-process.ts';
import { rssBytes } from './process-memory.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    peak: { type: 'string' },
    'peak-docs': { type: 'string', default: '200' },
    dataset: { type: 'string', default: SCIFACT_DIR },
    concurrency: { type: 'string', default: '8' },
    'sample-seconds': { type: 'string', default: '10' },
    'warmup-seconds': { type: 'string', default: '60' },
    json: { type: 'boolean', default: false },
  },
});
const minutes = Number(values.minutes);
const concurrency = Number(values.concurrency);
const sampleMs = Number(values['sample-seconds']) * 1000;
const warmupMs = Number(values['warmup-seconds']) * 1000;
const peakDocs = Number(values['peak-docs']);
for (const [name, v] of [
  ['--minutes', minutes],
  ['--concurrency', concurrency],
  ['--sample-seconds', sampleMs],
  ['--peak-docs', peakDocs],
] as const) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
}

const log = (line: string): void => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const loads: Array<{ at: string; load1: number; load5: number; load15: number }> = [];
const recordLoad = (at: string): void => {
  const [load1 = 0, load5 = 0, load15 = 0] = loadavg();
  loads.push({ at, load1, load5, load15 });
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

interface Role {
  name: string;
  child: ChildProcess;
  port: number;
  logPath: string;
}

const h = await createHarness();
const roles: Role[] = [];
const encoder = await loadEncoder(h.config.model); // only to count the chunks each document should get
const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
const client = new SearchClient({
  kafka: h.kafka,
  redis: createRedis(h.services.redis, 'soak-client'),
  topology: h.topology,
  defaultTimeoutMs: 30_000,
});
try {
  for (const name of ['encoder', 'query']) {
    const port = await freePort();
    const logPath = join(tmpdir(), `soak-${h.namespace}-${name}.log`);
    const child = startRoleProcess(h, name, { SEARCHBUS_METRICS_PORT: String(port) });
    child.stderr?.pipe(createWriteStream(logPath));
    roles.push({ name, child, port, logPath });
  }
  for (const role of roles) {
    await waitFor(
      `${role.name} ready (log: ${role.logPath})`,
      async () => {
        if (role.child.exitCode !== null) throw new Error(`${role.name} exited with ${role.child.exitCode}; see ${role.logPath}`);
        return (await fetch(`http://127.0.0.1:${role.port}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined;
      },
      300_000,
      250,
    );
  }
  await client.connect();
  log(`roles up: ${roles.map((r) => `${r.name} pid ${r.child.pid}`).join(', ')}; namespace ${h.namespace}`);

  const sources = await readScifact(Infinity, values.dataset);
  const queries = await readScifactQueries(Infinity, values.dataset);
  const expected = new Map<string, number>();
  let sequence = 0;
  const nextDocuments = (count: number, prefix: string): DocumentInput[] =>
    Array.from({ length: count }, () => {
      const source = sources[sequence % sources.length]!;
      const doc: DocumentInput = {
        id: `${prefix}-${sequence}`,
        title: `${source.title} (${sequence})`,
        text: source.text,
        metadata: { source: source.id },
      };
      sequence++;
      expected.set(doc.id, encoder.chunk(documentText(doc)).length);
      return doc;
    });
  const expectedChunks = (): number => [...expected.values()].reduce((s, n) => s + n, 0);
  const indexedChunks = async (): Promise<number> => (await h.qdrant.count(h.topology.qdrant.alias, { exact: true })).count;

  // 1. Peak ingest: a burst, publish -> every chunk searchable, with no searches running.
  recordLoad('start');
  let peak = values.peak === undefined ? NaN : Number(values.peak);
  if (values.peak === undefined) {
    const burst = nextDocuments(peakDocs, 'peak');
    const t0 = performance.now();
    await producer.upsert(burst);
    await waitFor('the peak burst indexed', async () => ((await indexedChunks()) >= expectedChunks() ? true : undefined), 1_800_000, 250);
    peak = burst.length / ((performance.now() - t0) / 1000);
    log(`peak ingest: ${burst.length} documents in ${((performance.now() - t0) / 1000).toFixed(1)} s = ${peak.toFixed(2)} docs/s`);
  }
  if (!Number.isFinite(peak) || peak <= 0) throw new Error('--peak must be a positive number of documents per second');
  const rate = peak / 2;

  // 2. The soak: half of peak ingest, paced, with searches at full concurrency meanwhile.
  const samples: Array<{ t: number; rss: Record<string, number> }> = [];
  const sample = (t: number): void => {
    const rss: Record<string, number> = { driver: process.memoryUsage().rss };
    for (const role of roles) rss[role.name] = rssBytes(role.child.pid!);
    samples.push({ t, rss });
  };
  const searches = { ok: 0, failed: 0, empty: 0, latencies: [] as number[], errors: new Map<string, number>() };
  let searching = true;
  const soakStart = performance.now();
  const elapsed = (): number => performance.now() - soakStart;
  sample(0);
  const sampler = setInterval(() => sample(elapsed()), sampleMs);
  const loops = Array.from({ length: concurrency }, async (_, k) => {
    for (let i = k; searching; i += concurrency) {
      const started = performance.now();
      try {
        const result = await client.search({ text: queries[i % queries.length] ?? 'cell biology', topK: 10 });
        searches.ok++;
        if (result.hits.length === 0) searches.empty++;
        searches.latencies.push(performance.now() - started);
      } catch (error) {
        searches.failed++;
        const key = `${(error as Error).name}: ${(error as Error).message.slice(0, 120)}`;
        searches.errors.set(key, (searches.errors.get(key) ?? 0) + 1);
      }
    }
  });
  const durationMs = minutes * 60_000;
  let published = 0;
  let lastReport = 0;
  while (elapsed() < durationMs) {
    const due = Math.floor((elapsed() / 1000) * rate) - published;
    if (due > 0) {
      await producer.upsert(nextDocuments(due, 'soak'));
      published += due;
    }
    if (elapsed() - lastReport >= 60_000) {
      lastReport = elapsed();
      recordLoad(`${(lastReport / 60_000).toFixed(0)} min`);
      const latest = samples.at(-1)?.rss ?? {};
      log(
        `${(lastReport / 60_000).toFixed(1)} min: ${published} published, ${await indexedChunks()}/${expectedChunks()} chunks indexed, ${searches.ok} searches ok, ${searches.failed} failed; RSS ${Object.entries(
          latest,
        )
          .map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(0)} MB`)
          .join(', ')}; load ${loadavg()[0]?.toFixed(1)}`,
      );
    }
    await delay(100);
  }
  const soakSeconds = elapsed() / 1000;
  log(`publishing stopped after ${soakSeconds.toFixed(0)} s; waiting for the encoder to catch up`);
  await waitFor(
    'every published chunk indexed',
    async () => ((await indexedChunks()) >= expectedChunks() ? true : undefined),
    1_800_000,
    500,
  );
  const catchUpSeconds = elapsed() / 1000 - soakSeconds;
  searching = false;
  await Promise.all(loops);
  clearInterval(sampler);
  sample(elapsed());
  recordLoad('end');

  // 3. Outcome by id: each published document once, with exactly its chunks 0..n-1.
  const byDoc = new Map<string, Set<number>>();
  let points = 0;
  for (const p of await allPoints(h.qdrant, h.topology.qdrant.alias)) {
    points++;
    const id = String(p.payload.doc_id);
    const chunks = byDoc.get(id) ?? new Set<number>();
    chunks.add(Number(p.payload.chunk));
    byDoc.set(id, chunks);
  }
  let lost = 0;
  let wrongChunks = 0;
  for (const [id, n] of expected) {
    const chunks = byDoc.get(id);
    if (!chunks) lost++;
    else if (chunks.size !== n || [...chunks].some((c) => c < 0 || c >= n)) wrongChunks++;
  }
  const unexpected = [...byDoc.keys()].filter((id) => !expected.has(id)).length;
  const duplicated = points - [...byDoc.values()].reduce((s, c) => s + c.size, 0) + unexpected;

  // 4. Memory: after warm-up, growth from the first minute to the last, and the trend (least squares).
  const settled = samples.filter((s) => s.t >= Math.min(warmupMs, durationMs / 2));
  const memory = Object.fromEntries(
    ['driver', ...roles.map((r) => r.name)].map((name) => {
      const series = settled.map((s) => ({ t: s.t / 60_000, mb: (s.rss[name] ?? NaN) / 2 ** 20 }));
      // Medians of the first and the last minute of samples: one sample is at the mercy of a GC.
      const median = (xs: number[]): number => percentile(xs, 50);
      const span = series.at(-1)!.t - series[0]!.t;
      const window = Math.min(1, span / 4);
      const first = median(series.filter((p) => p.t <= series[0]!.t + window).map((p) => p.mb));
      const last = median(series.filter((p) => p.t >= series.at(-1)!.t - window).map((p) => p.mb));
      const meanT = series.reduce((s, p) => s + p.t, 0) / series.length;
      const meanMb = series.reduce((s, p) => s + p.mb, 0) / series.length;
      const slope = series.reduce((s, p) => s + (p.t - meanT) * (p.mb - meanMb), 0) / series.reduce((s, p) => s + (p.t - meanT) ** 2, 0);
      const round = (x: number): number => Math.round(x * 10) / 10;
      return [
        name,
        {
          firstMb: round(first),
          lastMb: round(last),
          maxMb: round(Math.max(...series.map((p) => p.mb))),
          growthMb: round(last - first),
          growthPct: round(((last - first) / first) * 100),
          slopeMbPerMin: round(slope),
          samples: series.length,
        },
      ];
    }),
  );

  const report = {
    namespace: h.namespace,
    minutes: Math.round((soakSeconds / 60) * 10) / 10,
    peakDocsPerSecond: Math.round(peak * 100) / 100,
    targetDocsPerSecond: Math.round(rate * 100) / 100,
    achievedDocsPerSecond: Math.round((published / soakSeconds) * 100) / 100,
    documents: {
      published: expected.size,
      soak: published,
      points,
      expectedPoints: expectedChunks(),
      lost,
      wrongChunks,
      duplicated,
      catchUpSeconds: Math.round(catchUpSeconds),
    },
    searches: {
      concurrency,
      ok: searches.ok,
      failed: searches.failed,
      empty: searches.empty,
      perSecond: Math.round((searches.ok / (soakSeconds + catchUpSeconds)) * 10) / 10,
      p50Ms: Math.round(percentile(searches.latencies, 50)),
      p95Ms: Math.round(percentile(searches.latencies, 95)),
      p99Ms: Math.round(percentile(searches.latencies, 99)),
      errors: Object.fromEntries(searches.errors),
    },
    memory,
    loadAverage: loads.map((l) => ({
      ...l,
      load1: Math.round(l.load1 * 10) / 10,
      load5: Math.round(l.load5 * 10) / 10,
      load15: Math.round(l.load15 * 10) / 10,
    })),
  };
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(
      `soak ${report.minutes} min at ${report.achievedDocsPerSecond} docs/s (half of peak ${report.peakDocsPerSecond} docs/s), searches at concurrency ${concurrency}`,
    );
    console.log(
      `documents: ${report.documents.published} published, ${points}/${report.documents.expectedPoints} points; lost ${lost}, wrong chunks ${wrongChunks}, duplicated ${duplicated}; caught up ${report.documents.catchUpSeconds} s after publishing stopped`,
    );
    console.log(
      `searches: ${searches.ok} ok, ${searches.failed} failed, ${searches.empty} empty; ${report.searches.perSecond}/s; p50 ${report.searches.p50Ms} ms, p95 ${report.searches.p95Ms} ms, p99 ${report.searches.p99Ms} ms`,
    );
    for (const [name, m] of Object.entries(memory))
      console.log(
        `RSS ${name.padEnd(8)} ${m.firstMb} -> ${m.lastMb} MB (medians of the first and last minute after warm-up; max ${m.maxMb}; growth ${m.growthMb} MB = ${m.growthPct}%, trend ${m.slopeMbPerMin} MB/min over ${m.samples} samples)`,
      );
    console.log(`load average (1/5/15 min): ${report.loadAverage.map((l) => `${l.at} ${l.load1}/${l.load5}/${l.load15}`).join('; ')}`);
    if (searches.errors.size) console.log(`search errors: ${JSON.stringify(report.searches.errors)}`);
  }
  if (lost + wrongChunks + duplicated + searches.failed > 0) process.exitCode = 1;
} finally {
  await client.close().catch(() => undefined);
  await producer.close();
  for (const role of roles) {
    role.child.kill('SIGTERM');
    if (role.child.exitCode === null) await new Promise((resolve) => role.child.once('exit', resolve));
  }
  await encoder.close();
  await h.close();
}
