// Media retrieval through the real pipeline (Kafka, the encoder's text and media groups, Qdrant,
// the query consumer answering on Redis), beside independent baselines on the same files:
//  images: >=500 real photos from registry packages (test/bench/media/photo-set.ts) indexed by the
//          folder ingest; each queried by transformed copies (crop 70%, flip, JPEG q30, brightness
//          +-25%, half size); recall@1 and MRR per transform, beside imagehash's pHash and dHash;
//  speech: 200 distinct phrases (titles from the SciFact fixture) spoken by espeak-ng in one
//          voice and indexed; queried by the same phrases in other voices, speeds and sox noise;
//          recall@1 and MRR per variant, beside librosa MFCCs (pooled, and DTW);
//  throughput: items/s of each modality from publish to searchable, and queries by example/s.
// Every figure comes with the load average at the time; the baselines run after the pipeline's
// part, on the same query files.
// Run (hand-run, never in CI; fetches its photos from npm and Debian once, into ~/.cache/searchbus/bench):
//   node infra/cli/bin.mjs infra run -- node --import tsx test/bench/media-retrieval.ts \
//     [--only images,speech,text] [--phrases 200] [--query-phrases N (default all)] [--text-docs 300]
//     [--concurrency 4] [--no-dtw (skip the MFCC-DTW baseline, the slow one)] [--json out.json]
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { EncoderConsumer, documentText } from '../../consumers/encoder/index.ts';
import { documentEncoder, type OnnxEncoder } from '../../consumers/embedding/index.ts';
import { loadEncoder } from '../../infra/models/index.ts';
import { ensurePythonVenv } from '../../infra/local/python-venv.ts';
import { fileDocument, IngestProducer, type DocumentInput } from '../../producers/ingest/index.ts';
import { AUDIO_MODEL, IMAGE_MODEL } from '../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../support/harness.ts';
import { readScifact } from '../support/corpus.ts';
import { testMediaEncoder } from '../support/media-stack.ts';
import { startQueryStack, type QueryStack } from '../support/query-stack.ts';
import { IMAGE_TRANSFORMS, TRANSFORM_LABELS, transformImage } from './media/image-transforms.ts';
import { ensurePhotoSet, PHOTO_SOURCES, sourceName } from './media/photo-set.ts';
import { placementOfRank, score, type Placement, type RetrievalScore } from './media/retrieval-metrics.ts';
import { describeVoicing, ensureSpeechSet, INDEXED_VOICING, QUERY_VARIANTS } from './media/speech-set.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'images,speech,text' },
    phrases: { type: 'string', default: '200' },
    'query-phrases': { type: 'string' },
    'no-dtw': { type: 'boolean', default: false },
    'text-docs': { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '4' },
    json: { type: 'string' },
  },
});
const parts = new Set(values.only.split(','));
const CUTOFF = 100; // topK of every query: the largest the query consumer allows by default
const concurrency = Number(values.concurrency);
const PHRASE_WORDS = { min: 4, max: 14 }; // speakable titles: neither a label nor a paragraph
const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const log = (line: string): void => void process.stderr.write(`[media-bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const load = (): number[] => loadavg().map((l) => Number(l.toFixed(2)));

interface Throughput {
  items: number;
  seconds: number;
  perSecond: number;
  load: number[];
}
interface Query {
  /** Document id the query should find. */
  target: string;
  variant: string;
  path: string;
}
interface QueryRun {
  variant: string;
  placement: Placement;
}

const results: Record<string, unknown> = {
  started: new Date().toISOString(),
  commit: spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
  cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
  node: process.version,
  cutoff: CUTOFF,
  load_at_start: load(),
};

// Data and the baselines' venv first (each cached after its first run), so no synthesis or
// download overlaps the timed parts.
const python = await ensurePythonVenv('media-baselines', here('./media/baseline-requirements.txt'), log);
if (parts.has('images')) await ensurePhotoSet(log);
const speechOptions = values['query-phrases'] ? { queryPhrases: Number(values['query-phrases']) } : {};
if (parts.has('speech')) await ensureSpeechSet(await phrasesFromTitles(Number(values.phrases)), log, speechOptions);

const h = await createHarness();
const text = await loadEncoder(h.config.model);
// The encoder role and the query role each have their own media encoder, as in two processes.
// OCR off: the photos hold no text, and the figures are of the image and audio paths.
const encoderMedia = testMediaEncoder(h, { ocr: false });
const queryMedia = testMediaEncoder(h, { ocr: false });
const consumers = (['text', 'media'] as const).map(
  (modality) =>
    new EncoderConsumer({
      kafka: h.kafka,
      qdrant: h.qdrant,
      topology: h.topology,
      config: h.config,
      encoder: () => Promise.resolve(documentEncoder(text)),
      modality,
      media: encoderMedia,
    }),
);
const producer = new IngestProducer({ kafka: h.kafka, topic: h.topology.topics.ingest });
const scratch = await mkdtemp(join(tmpdir(), 'searchbus-media-bench-'));
let stack: QueryStack | undefined;
try {
  for (const consumer of consumers) await consumer.start();
  stack = await startQueryStack(h, [text], { media: queryMedia, timeoutMs: 300_000 });
  if (parts.has('images')) results.images = await imageBenchmark(h, stack, python);
  if (parts.has('speech')) results.speech = await speechBenchmark(h, stack, python);
  if (parts.has('text')) results.text = { throughput: await textThroughput(h, text) };
} finally {
  await stack?.close();
  await producer.close();
  for (const consumer of consumers) await consumer.close();
  await Promise.all([encoderMedia.close(), queryMedia.close()]);
  await text.close();
  await h.close();
  await rm(scratch, { recursive: true, force: true });
}
results.load_at_end = load();
results.finished = new Date().toISOString();
if (values.json) await writeFile(values.json, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(render(results));

/**
 * Publishes documents and waits until the collection holds `points` more points: publish -> searchable.
 * Sends as `searchbus ingest <folder>` does: 8 media documents (each up to the inline limit) or 200
 * texts per request, so a request stays under Kafka's message size.
 */
async function ingest(h: Harness, documents: DocumentInput[], points: number): Promise<Throughput> {
  const alias = h.topology.qdrant.alias;
  const before = (await h.qdrant.count(alias, { exact: true })).count;
  const startLoad = load();
  const started = performance.now();
  const perSend = documents.some((d) => d.media) ? 8 : 200;
  for (let i = 0; i < documents.length; i += perSend) await producer.upsert(documents.slice(i, i + perSend));
  let reported = started;
  await waitFor(
    `${points} points written`,
    async () => {
      const { count } = await h.qdrant.count(alias, { exact: true });
      if (performance.now() - reported > 15_000) {
        reported = performance.now();
        log(`  ${count - before}/${points} written after ${((reported - started) / 1000).toFixed(0)} s`);
      }
      return count - before >= points ? true : undefined;
    },
    3_600_000,
    100,
  );
  const seconds = (performance.now() - started) / 1000;
  return { items: documents.length, seconds, perSecond: documents.length / seconds, load: startLoad };
}

/** Runs queries by example through the bus, `concurrency` at a time; where each target landed. */
async function searchAll(
  stack: QueryStack,
  modality: 'image' | 'audio',
  type: string,
  queries: Query[],
): Promise<{ runs: QueryRun[]; throughput: Throughput }> {
  const runs: QueryRun[] = new Array<QueryRun>(queries.length);
  let next = 0;
  let answered = 0;
  const startLoad = load();
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (let i = next++; i < queries.length; i = next++) {
      const q = queries[i]!;
      const bytes = await stat(q.path);
      // Small copies inline, larger ones by file:// uri (the claim check), as the ingest does.
      const medium =
        bytes.size <= h.config.media.inlineMaxBytes
          ? { type, data: (await readFile(q.path)).toString('base64') }
          : { type, uri: pathToFileURL(q.path).href };
      const result = await stack.client.search({ [modality]: medium, topK: CUTOFF });
      const rank = result.hits.findIndex((hit) => hit.docId === q.target);
      runs[i] = { variant: q.variant, placement: placementOfRank(rank === -1 ? null : rank + 1) };
      if (++answered % 100 === 0) {
        // Interim figures, so that a run cut short on a loaded machine still says something.
        const sofar = score(
          runs.filter(Boolean).map((r) => r.placement),
          CUTOFF,
        );
        log(
          `  ${answered}/${queries.length} ${modality} queries answered; so far recall@1 ${sofar.recallAt1.toFixed(3)}, MRR ${sofar.mrr.toFixed(3)} (load ${load().join(' ')})`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { runs, throughput: { items: queries.length, seconds, perSecond: queries.length / seconds, load: startLoad } };
}

/** The baselines' placements per method, from baselines.py on the same candidate and query files. */
async function baselines(
  python: string,
  kind: 'image' | 'audio',
  candidates: Array<{ id: string; path: string }>,
  queries: Query[],
): Promise<{ libraries: Record<string, string>; methods: Record<string, { placements: Placement[]; seconds: number }> }> {
  const manifest = join(scratch, `${kind}-manifest.json`);
  const output = join(scratch, `${kind}-baselines.json`);
  await writeFile(manifest, JSON.stringify({ kind, candidates, queries, workers: 2, dtw: !values['no-dtw'] }));
  log(`${kind}: baselines (${here('./media/baselines.py')})`);
  // Not spawnSync: the baselines take minutes, and a blocked event loop sends no heartbeats, so the
  // consumer groups of this process were dropped by the broker and had to rejoin afterwards.
  const child = spawn(python, [here('./media/baselines.py'), manifest, output], { stdio: ['ignore', 'inherit', 'inherit'] });
  const [status] = (await once(child, 'close')) as [number | null];
  if (status !== 0) throw new Error(`baselines.py ${kind} failed (exit ${status})`);
  return JSON.parse(await readFile(output, 'utf8')) as Awaited<ReturnType<typeof baselines>>;
}

/** Scores per variant (and over all), for the pipeline and each baseline method. */
function table(
  variants: string[],
  pipeline: QueryRun[],
  others: Record<string, { placements: Placement[]; seconds: number }>,
): Record<string, Record<string, RetrievalScore>> {
  const systems: Record<string, QueryRun[]> = { pipeline };
  for (const [name, method] of Object.entries(others))
    systems[name] = method.placements.map((placement, i) => ({ variant: pipeline[i]!.variant, placement }));
  const out: Record<string, Record<string, RetrievalScore>> = {};
  for (const variant of [...variants, 'all']) {
    out[variant] = {};
    for (const [name, runs] of Object.entries(systems)) {
      out[variant][name] = score(
        runs.filter((r) => variant === 'all' || r.variant === variant).map((r) => r.placement),
        CUTOFF,
      );
    }
  }
  return out;
}

async function imageBenchmark(h: Harness, stack: QueryStack, python: string): Promise<Record<string, unknown>> {
  const set = await ensurePhotoSet(log);
  log(`images: ${set.photos.length} photos in ${set.dir}`);
  const documents: DocumentInput[] = [];
  let bytes = 0;
  for (const id of set.photos) {
    const path = join(set.dir, id);
    const size = (await stat(path)).size;
    bytes += size;
    const record = await fileDocument(set.dir, { path, bytes: size }, { mediaInlineMaxBytes: h.config.media.inlineMaxBytes });
    if (record.kind !== 'image') throw new Error(`${id} was not taken as an image: ${JSON.stringify(record)}`);
    documents.push(record.document);
  }
  log(`images: ingesting ${documents.length} photos through the bus`);
  const throughput = await ingest(h, documents, documents.length);
  log(`images: ${throughput.perSecond.toFixed(1)} photos/s publish -> searchable`);

  log(`images: making ${set.photos.length * IMAGE_TRANSFORMS.length} transformed copies`);
  const queries: Query[] = [];
  for (const id of set.photos) {
    const original = await readFile(join(set.dir, id));
    for (const transform of IMAGE_TRANSFORMS) {
      const path = join(scratch, 'image-queries', transform, id.replaceAll('/', '__'));
      await writeFileDeep(path, await transformImage(original, transform));
      queries.push({ target: id, variant: transform, path });
    }
  }
  log(`images: ${queries.length} queries by example through the bus`);
  const search = await searchAll(stack, 'image', 'image/jpeg', queries);
  const base = await baselines(
    python,
    'image',
    set.photos.map((id) => ({ id, path: join(set.dir, id) })),
    queries,
  );
  return {
    model: IMAGE_MODEL.id,
    photos: set.photos.length,
    mean_photo_kb: Number((bytes / set.photos.length / 1024).toFixed(1)),
    sources: Object.fromEntries(PHOTO_SOURCES.map((s) => [sourceName(s), { licence: s.licence, ...set.bySource[sourceName(s)] }])),
    transforms: TRANSFORM_LABELS,
    ingest: throughput,
    search: search.throughput,
    baseline_libraries: base.libraries,
    baseline_seconds: Object.fromEntries(Object.entries(base.methods).map(([k, v]) => [k, Number(v.seconds.toFixed(1))])),
    scores: table([...IMAGE_TRANSFORMS], search.runs, base.methods),
  };
}

async function speechBenchmark(h: Harness, stack: QueryStack, python: string): Promise<Record<string, unknown>> {
  const wanted = Number(values.phrases);
  const phrases = await phrasesFromTitles(wanted);
  log(`speech: synthesising ${phrases.length} phrases x ${1 + Object.keys(QUERY_VARIANTS).length} voicings (espeak-ng, ffmpeg, sox)`);
  const set = await ensureSpeechSet(phrases, log, speechOptions);
  const documents: DocumentInput[] = [];
  for (const [i, id] of set.indexed.entries()) {
    const path = join(set.dir, id);
    const record = await fileDocument(
      set.dir,
      { path, bytes: (await stat(path)).size },
      { mediaInlineMaxBytes: h.config.media.inlineMaxBytes },
    );
    if (record.kind !== 'audio') throw new Error(`${id} was not taken as audio: ${JSON.stringify(record)}`);
    // The title is the file name, as the folder ingest gives it: the phrase itself is never indexed as text.
    documents.push(record.document);
    if (i === 0) log(`speech: e.g. ${id} = "${phrases[0]}"`);
  }
  log(`speech: ingesting ${documents.length} clips through the bus`);
  const throughput = await ingest(h, documents, documents.length);
  log(`speech: ${throughput.perSecond.toFixed(2)} clips/s publish -> searchable`);

  const queries: Query[] = Object.entries(set.queries).flatMap(([variant, paths]) =>
    paths.map((p, i) => ({ target: set.indexed[i]!, variant, path: join(set.dir, p) })),
  );
  log(`speech: ${queries.length} queries by example through the bus`);
  const search = await searchAll(stack, 'audio', 'audio/wav', queries);
  const base = await baselines(
    python,
    'audio',
    set.indexed.map((id) => ({ id, path: join(set.dir, id) })),
    queries,
  );
  const seconds = await Promise.all(set.indexed.map(async (id) => ((await stat(join(set.dir, id))).size - 44) / 32_000));
  return {
    model: AUDIO_MODEL.id,
    phrases: phrases.length,
    phrase_source: `test/fixtures/scifact/corpus.jsonl: the first ${phrases.length} distinct titles of ${PHRASE_WORDS.min}-${PHRASE_WORDS.max} words`,
    mean_clip_seconds: Number((seconds.reduce((a, b) => a + b, 0) / seconds.length).toFixed(2)),
    indexed_voicing: describeVoicing(INDEXED_VOICING),
    variants: Object.fromEntries(Object.entries(QUERY_VARIANTS).map(([k, v]) => [k, describeVoicing(v)])),
    ingest: throughput,
    search: search.throughput,
    baseline_libraries: base.libraries,
    baseline_seconds: Object.fromEntries(Object.entries(base.methods).map(([k, v]) => [k, Number(v.seconds.toFixed(1))])),
    scores: table(Object.keys(QUERY_VARIANTS), search.runs, base.methods),
  };
}

/** Distinct phrases of a speakable length: the SciFact fixture's titles of 4-14 words, in file order. */
async function phrasesFromTitles(wanted: number): Promise<string[]> {
  const seen = new Set<string>();
  const phrases: string[] = [];
  for (const { title } of await readScifact()) {
    const words = title.trim().split(/\s+/).length;
    const key = title.trim().toLowerCase();
    if (words < PHRASE_WORDS.min || words > PHRASE_WORDS.max || seen.has(key)) continue;
    seen.add(key);
    phrases.push(title.trim());
    if (phrases.length === wanted) return phrases;
  }
  throw new Error(
    `only ${phrases.length} distinct titles of ${PHRASE_WORDS.min}-${PHRASE_WORDS.max} words in the SciFact fixture, ${wanted} wanted`,
  );
}

/** Text documents through the same bus, for the ratio of media to text throughput. */
async function textThroughput(h: Harness, encoder: OnnxEncoder): Promise<Throughput & { chunks: number; model: string }> {
  const docs = await readScifact(Number(values['text-docs']));
  const chunks = docs.reduce((sum, d) => sum + encoder.chunk(documentText(d)).length, 0);
  log(`text: ingesting ${docs.length} SciFact abstracts (${chunks} chunks) through the bus`);
  const throughput = await ingest(
    h,
    docs.map((d) => ({ id: `scifact-${d.id}`, title: d.title, text: d.text })),
    chunks,
  );
  log(`text: ${throughput.perSecond.toFixed(1)} docs/s publish -> searchable`);
  return { ...throughput, chunks, model: encoder.spec.id };
}

async function writeFileDeep(path: string, data: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
}

function render(r: Record<string, unknown>): string {
  const lines: string[] = [
    `media retrieval benchmark, ${String(r.commit).slice(0, 10)}, ${String(r.cpu)}, load ${JSON.stringify(r.load_at_start)} -> ${JSON.stringify(r.load_at_end)}`,
  ];
  const fmt = (s: RetrievalScore | undefined): string => (s ? `${s.recallAt1.toFixed(3)} / ${s.mrr.toFixed(3)}` : '-');
  for (const part of ['images', 'speech'] as const) {
    const p = r[part] as { scores: Record<string, Record<string, RetrievalScore>>; ingest: Throughput; search: Throughput } | undefined;
    if (!p) continue;
    const systems = Object.keys(p.scores.all ?? {});
    lines.push(
      '',
      `${part}: recall@1 / MRR@${CUTOFF}`,
      `| variant | ${systems.join(' | ')} |`,
      `|---|${systems.map(() => '---|').join('')}`,
    );
    for (const [variant, row] of Object.entries(p.scores)) lines.push(`| ${variant} | ${systems.map((s) => fmt(row[s])).join(' | ')} |`);
    lines.push(
      `${part} ingest: ${p.ingest.items} in ${p.ingest.seconds.toFixed(1)} s = ${p.ingest.perSecond.toFixed(2)}/s (load ${p.ingest.load.join(' ')}); queries: ${p.search.perSecond.toFixed(2)}/s at concurrency ${concurrency} (load ${p.search.load.join(' ')})`,
    );
  }
  const t = (r.text as { throughput: Throughput & { chunks: number } } | undefined)?.throughput;
  if (t)
    lines.push(
      '',
      `text ingest: ${t.items} docs (${t.chunks} chunks) in ${t.seconds.toFixed(1)} s = ${t.perSecond.toFixed(2)} docs/s (load ${t.load.join(' ')})`,
    );
  return `${lines.join('\n')}\n`;
}
