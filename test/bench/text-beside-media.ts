// Does heavy media work hold up text? Through the real pipeline (Kafka, the encoder's consumers,
// Qdrant), a backlog of scanned pages is published (PNG images by file:// uri: OCR plus an image
// embedding each, the heaviest media work there is), then text documents, one every
// --interval-ms; each text document's time from publish to searchable is measured. Two
// arrangements of the encoder, each in a namespace of its own on the same services, one after the
// other:
//   split:  the encoder role as it ships, a text group and a media group on the ingest topic;
//   single: the baseline, one group taking everything in topic order (modality 'all'), which is
//           what the text would wait behind without the split.
// Also: how long the backlog took to be searchable under each (the media throughput), and the
// load average at the start and the end.
// Run (hand-run, never in CI):
//   node infra/cli/bin.mjs infra run -- node --import tsx test/bench/text-beside-media.ts \
//     [--pages 17] [--texts 20] [--interval-ms 500] [--dpi 150] [--json out.json]
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { IngestProducer, type DocumentInput } from '../../producers/ingest/index.ts';
import { DEFAULT_TENANT, getModelSpec, pointId } from '../../topology/index.ts';
import { readScifact } from '../support/corpus.ts';
import { createHarness, TEST_MODEL_ID, type Harness } from '../support/harness.ts';
import { testMediaEncoder } from '../support/media-stack.ts';
import { renderPages } from './media/scanned-pages.ts';

const { values } = parseArgs({
  options: {
    pages: { type: 'string', default: '17' },
    texts: { type: 'string', default: '20' },
    'interval-ms': { type: 'string', default: '500' },
    dpi: { type: 'string', default: '150' },
    json: { type: 'string' },
  },
});
const intervalMs = Number(values['interval-ms']);
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const log = (line: string): void => void process.stderr.write(`[text-beside-media ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

type Arrangement = 'split' | 'single';
interface Outcome {
  arrangement: Arrangement;
  textFreshnessMs: { p50: number; p95: number; max: number };
  backlogSeconds: number;
  pagesPerSecond: number;
  load: { start: string; end: string };
}

/** Publish -> searchable times, with one poller for every pending document (so watching costs Qdrant one request per tick). */
class Arrivals {
  private readonly pending = new Map<string, () => void>();
  private polling: Promise<void> | undefined;

  constructor(
    private readonly h: Harness,
    private readonly tickMs = 25,
  ) {}

  indexed(id: string): Promise<void> {
    const arrived = new Promise<void>((resolve) => this.pending.set(id, resolve));
    this.polling ??= this.poll().finally(() => (this.polling = undefined));
    return arrived;
  }

  private async poll(): Promise<void> {
    while (this.pending.size > 0) {
      const ids = [...this.pending.keys()];
      const found = await this.h.qdrant.retrieve(this.h.topology.qdrant.alias, {
        ids: ids.map((id) => pointId(DEFAULT_TENANT, id, 0)),
        with_payload: true,
        with_vector: false,
      });
      for (const point of found) {
        const id = String(point.payload?.doc_id);
        this.pending.get(id)?.();
        this.pending.delete(id);
      }
      await delay(this.tickMs);
    }
  }
}

async function run(
  arrangement: Arrangement,
  text: OnnxEncoder,
  scanUris: readonly string[],
  texts: readonly DocumentInput[],
): Promise<Outcome> {
  const h = await createHarness();
  const media = testMediaEncoder(h); // OCR on, as by default
  const modalities = arrangement === 'split' ? (['text', 'media'] as const) : (['all'] as const);
  const consumers = modalities.map(
    (modality) =>
      new EncoderConsumer({
        kafka: h.kafka,
        qdrant: h.qdrant,
        topology: h.topology,
        config: h.config,
        encoder: () => Promise.resolve(documentEncoder(text)),
        modality,
        media,
      }),
  );
  const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
  const arrivals = new Arrivals(h);
  const scan = (id: string, uri: string): DocumentInput => ({ id, media: { type: 'image/png', uri } });
  try {
    for (const consumer of consumers) await consumer.start();
    // Warm-up: both models and the OCR engine loaded, every group joined and fetching.
    await producer.upsert([{ id: 'warm-text', text: 'A warm-up document.' }, scan('warm-scan', scanUris[0]!)]);
    await Promise.all([arrivals.indexed('warm-text'), arrivals.indexed('warm-scan')]);

    const start = load();
    const backlogStarted = performance.now();
    await producer.upsert(scanUris.map((uri, i) => scan(`scan-${i}`, uri)));
    const backlog = Promise.all(scanUris.map((_, i) => arrivals.indexed(`scan-${i}`))).then(
      () => (performance.now() - backlogStarted) / 1000,
    );
    const freshness: Array<Promise<number>> = [];
    for (const document of texts) {
      const published = performance.now();
      await producer.upsert([document]);
      freshness.push(arrivals.indexed(document.id).then(() => performance.now() - published));
      await delay(intervalMs);
    }
    const times = (await Promise.all(freshness)).sort((a, b) => a - b);
    const backlogSeconds = await backlog;
    const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    return {
      arrangement,
      textFreshnessMs: { p50: at(0.5), p95: at(0.95), max: times.at(-1)! },
      backlogSeconds,
      pagesPerSecond: scanUris.length / backlogSeconds,
      load: { start, end: load() },
    };
  } finally {
    await producer.close().catch(() => undefined);
    for (const consumer of consumers) await consumer.close().catch(() => undefined);
    await media.close().catch(() => undefined);
    await h.close();
  }
}

const pdf = await readFile(new URL('../fixtures/documents/shared-mime-info-spec.pdf', import.meta.url));
const scans = (await renderPages(pdf, Number(values.dpi))).slice(0, Number(values.pages));
const scratch = await mkdtemp(join(tmpdir(), 'searchbus-bench-scans-')); // under a default file root
const scanUris = await Promise.all(
  scans.map(async (png, i) => {
    const path = join(scratch, `page-${i + 1}.png`);
    await writeFile(path, png);
    return pathToFileURL(path).href;
  }),
);
const texts = (await readScifact(Number(values.texts))).map((d) => ({ id: `text-${d.id}`, title: d.title, text: d.text }));
const text = await loadEncoder(getModelSpec(TEST_MODEL_ID));
const outcomes: Outcome[] = [];
try {
  for (const arrangement of ['split', 'single'] as const) {
    log(
      `${arrangement}: ${scans.length} scanned pages (${values.dpi} dpi), then ${texts.length} texts every ${intervalMs} ms; load ${load()}`,
    );
    outcomes.push(await run(arrangement, text, scanUris, texts));
  }
} finally {
  await text.close();
  await rm(scratch, { recursive: true, force: true });
}

for (const o of outcomes) {
  const f = o.textFreshnessMs;
  process.stdout.write(
    `${o.arrangement.padEnd(6)} text publish -> searchable p50 ${f.p50.toFixed(0)} ms, p95 ${f.p95.toFixed(0)} ms, max ${f.max.toFixed(0)} ms; ` +
      `backlog of ${scans.length} scanned pages searchable after ${o.backlogSeconds.toFixed(1)} s (${o.pagesPerSecond.toFixed(2)} pages/s); load ${o.load.start} -> ${o.load.end}\n`,
  );
}
const [split, single] = outcomes;
if (split && single)
  process.stdout.write(
    `text freshness p50, single group / split groups: ${(single.textFreshnessMs.p50 / split.textFreshnessMs.p50).toFixed(1)}x\n`,
  );
if (values.json)
  await writeFile(
    values.json,
    JSON.stringify(
      { model: TEST_MODEL_ID, pages: scans.length, dpi: Number(values.dpi), texts: texts.length, intervalMs, outcomes },
      null,
      2,
    ),
  );
