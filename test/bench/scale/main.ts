// The scale benchmark (issue 23): fill one collection, laid out as `topology apply` lays it out, to
// each size in turn, and at each size measure search latency through the bus, the Qdrant engine's
// memory and disk, its vector index, and the write rate; then the same with scalar int8 quantization.
// Run: npm run bench:scale [-- --sizes 10000,100000,1000000 --sample 1000 --searches 200 --burst 100]
// Writes test/bench/scale-report.json, docs/benchmarks/scale.svg and the table in docs/benchmarks/scale.md;
// `node --import tsx test/bench/scale/render.ts` only re-renders the last two from the report.
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { QueryConsumer, queryEncoder } from '../../../consumers/query/index.ts';
import { createRedis } from '../../../infra/index.ts';
import { IngestProducer } from '../../../producers/ingest/index.ts';
import { SearchClient } from '../../../producers/search-client/index.ts';
import { closeAll, sparseVectorName } from '../../../topology/index.ts';
import { readScifact, readScifactQueries, type CorpusDoc } from '../../support/corpus.ts';
import { startEncoderStack } from '../encoder-stack.ts';
import { ingestThroughBus, loadDirect, readSeeds, tenantOf, writeSeeds, type Seed } from './fill.ts';
import { engineState, searchLatency, untilIndexed } from './measure.ts';
import { writePlot } from './plot.ts';
import { findQdrantProcess, residentMb } from './qdrant-process.ts';
import { readReport, writeReport, type Figures, type ScaleReport } from './report.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    sample: { type: 'string', default: '1000' },
    searches: { type: 'string', default: '200' },
    burst: { type: 'string', default: '100' },
    variants: { type: 'string', default: 'none,int8' },
    merge: { type: 'boolean', default: false },
    dataset: { type: 'string', default: fileURLToPath(new URL('../../../../shared/data/scifact-train/', import.meta.url)) },
  },
});
const SIZES = values.sizes.split(',').map(Number);
const SAMPLE = Number(values.sample);
const SEARCHES = Number(values.searches);
const BURST = Number(values.burst);
const VARIANTS = values.variants.split(',') as Array<'none' | 'int8'>;
// The suite's model, as the other benchmarks of the live path use; 384-d like the default one.
process.env.SEARCHBUS_MODEL ??= 'all-minilm-l6-v2';

const log = (line: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const loadStart = loadavg();
const docs = await readScifact(Infinity, values.dataset);
const queries = await readScifactQueries(Infinity, values.dataset);
if (docs.length < SAMPLE + BURST * SIZES.length * VARIANTS.length)
  throw new Error(`${values.dataset} has too few documents for the sample and the bursts`);
const withTenants = (slice: CorpusDoc[], prefix: string): Array<CorpusDoc & { tenant: string }> =>
  slice.map((d, i) => ({ ...d, id: `${prefix}${d.id}`, tenant: tenantOf(i) }));
const notes: string[] = [];
let nextBurst = SAMPLE;
let seeds: Seed[] | null = null;

async function runVariant(variant: 'none' | 'int8', stage: number[]): Promise<Map<number, Figures>> {
  // The cluster setting (SEARCHBUS_QDRANT_QUANTIZATION) that `topology apply` creates the collection with.
  process.env.SEARCHBUS_QDRANT_QUANTIZATION = variant;
  const stack = await startEncoderStack(`scale-${variant}`, log);
  const { config, topology, kafka, qdrant, services, model, metrics } = stack;
  const collection = topology.qdrant.alias;
  const sparse = config.sparseAnalyzer ? sparseVectorName(config.sparseAnalyzer) : null;
  const engine = await findQdrantProcess(services.qdrant.url);
  if (!engine) notes.push(`Qdrant at ${services.qdrant.url} is not a local Edge server process: memory and disk not measured.`);
  const publisher = createRedis(services.redis, 'bench-scale-publish');
  const consumer = new QueryConsumer({
    kafka,
    qdrant,
    redis: publisher,
    topology,
    config,
    encoder: () => Promise.resolve(queryEncoder(model)),
    metrics,
  });
  const client = new SearchClient({ kafka, redis: createRedis(services.redis, 'bench-scale-client'), topology, defaultTimeoutMs: 60_000 });
  const producer = new IngestProducer({ kafka, topic: topology.topics.ingest });
  const results = new Map<number, Figures>();
  try {
    await consumer.start();
    await client.connect();
    const empty = await engineState(qdrant, collection, engine);
    notes.push(`${variant}: the engine's RSS with the collection empty was ${empty.rss_mb} MiB, its storage ${empty.disk_mb} MiB.`);
    if (!seeds) {
      const rate = await ingestThroughBus(producer, qdrant, collection, withTenants(docs.slice(0, SAMPLE), 'sample-'));
      seeds = await readSeeds(qdrant, collection, sparse);
      log(`sample: ${SAMPLE} documents (${seeds.length} chunks) through the bus at ${rate.toFixed(1)} docs/s`);
      notes.push(`The sample: ${SAMPLE} SciFact abstracts, ${seeds.length} chunks, through the bus at ${rate.toFixed(1)} docs/s.`);
    } else await writeSeeds(qdrant, collection, seeds, sparse);
    for (const size of stage) {
      const before = (await engineState(qdrant, collection, engine)).points;
      const loader =
        before < size
          ? await loadDirect(
              qdrant,
              collection,
              seeds,
              { from: before, to: size },
              sparse,
              (n, r) =>
                void (engine ? residentMb(engine.pid) : Promise.resolve(NaN)).then((rss) =>
                  log(`${variant}: ${n} points, ${r.toFixed(0)} points/s, Qdrant RSS ${rss.toFixed(0)} MiB`),
                ),
            )
          : 0;
      const indexWait = await untilIndexed(qdrant, collection, size);
      log(
        `${variant} ${size}: loaded ${size - before} points directly at ${loader.toFixed(0)} points/s; index ready after ${indexWait} ms`,
      );
      for (const mode of ['dense', 'hybrid'] as const) await searchLatency(client, queries, mode, 10); // warm-up, not timed
      const dense = await searchLatency(client, queries, 'dense', SEARCHES);
      const hybrid = await searchLatency(client, queries, 'hybrid', SEARCHES);
      const state = await engineState(qdrant, collection, engine);
      const burst = await ingestThroughBus(
        producer,
        qdrant,
        collection,
        withTenants(docs.slice(nextBurst, nextBurst + BURST), `burst-${size}-`),
      );
      nextBurst += BURST;
      const figures: Figures = {
        search_ms: { dense: { p50: dense.p50, p99: dense.p99 }, hybrid: { p50: hybrid.p50, p99: hybrid.p99 } },
        search_errors: dense.errors + hybrid.errors,
        qdrant_rss_mb: state.rss_mb,
        qdrant_rss_file_mb: state.rss_file_mb,
        qdrant_disk_mb: state.disk_mb,
        write_docs_per_s: Number(burst.toFixed(1)),
        loader_points_per_s: Math.round(loader),
        points: state.points,
        indexed_vectors: state.indexed_vectors,
        index_wait_ms: indexWait,
        measured_at: new Date().toISOString(),
        load: loadavg().map((x) => Number(x.toFixed(1))),
      };
      log(
        `${variant} ${size}: ${JSON.stringify(figures)}; load ${loadavg()
          .map((x) => x.toFixed(1))
          .join(' ')}`,
      );
      results.set(size, figures);
    }
  } finally {
    await closeAll(`the scale bench (${variant})`, [
      { name: 'close the search client', run: () => client.close() },
      { name: 'close the producer', run: () => producer.close() },
      { name: 'close the query consumer', run: () => consumer.close() },
      { name: 'quit the publishing Redis', run: async () => void (await publisher.quit()) },
      ...stack.closers,
    ]);
  }
  return results;
}

// The sizes up to 100k for both variants first, then each larger size for both: a run cut short by
// the clock still has the quantized figures of the smaller sizes. A later stage fills a new
// collection from empty, so its loader rate covers the whole climb.
const stages = [SIZES.filter((s) => s <= 100_000), ...SIZES.filter((s) => s > 100_000).map((s) => [s])].filter((s) => s.length > 0);
const byVariant = new Map<string, Map<number, Figures>>(VARIANTS.map((v) => [v, new Map()]));
for (const stage of stages) {
  for (const variant of VARIANTS) {
    for (const [size, figures] of await runVariant(variant, stage)) byVariant.get(variant)!.set(size, figures);
    await saveReport();
  }
}

/**
 * Written after every pass, so what was measured survives a run stopped later. With --merge, the
 * sizes of the report on disk that this run does not measure are kept (each size carries its own
 * date and load).
 */
async function saveReport(): Promise<void> {
  const previous = values.merge ? await readReport() : null;
  const sizes: ScaleReport['sizes'] = { ...previous?.sizes };
  for (const size of SIZES) {
    const plain = byVariant.get('none')?.get(size);
    if (plain) sizes[String(size)] = { ...plain, quantized: byVariant.get('int8')?.get(size) ?? null };
  }
  const report: ScaleReport = {
    sizes,
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
    date: new Date().toISOString(),
    load: { start: loadStart, end: loadavg() },
    machine: `${availableParallelism()} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, shared with other engineers' runs`,
    model: process.env.SEARCHBUS_MODEL ?? '',
    sample_documents: SAMPLE,
    searches_per_figure: SEARCHES,
    burst_documents: BURST,
    notes: [...(previous?.notes ?? []), ...notes],
  };
  await writeReport(report);
  await writePlot(report);
}
log(`wrote test/bench/scale-report.json, docs/benchmarks/scale.svg and docs/benchmarks/scale.md`);
