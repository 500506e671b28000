// Text-to-speech retrieval through transcripts (issue 20): do text queries that paraphrase what was
// said find the recording first? Recordings: the first one or two sentences of SciFact abstracts
// (capped at --max-words) spoken by espeak-ng (speech-set.ts: en-us, 160 wpm, 16 kHz WAV), each
// indexed under an opaque id and an opaque title (random consonants: no words to match). Queries: the
// SciFact claims judged relevant to those abstracts (qrels), written by people, not the abstract's
// words. Every recording goes through the real pipeline (Kafka, the encoder's text and media groups,
// Qdrant, the query consumer answering on Redis), once per condition, each in its own namespace:
//  transcripts: SEARCHBUS_SPEECH_TO_TEXT=true (Moonshine; what is measured);
//  title only:  SEARCHBUS_SPEECH_TO_TEXT=false (only the opaque title is text: chance, computed too);
//  plain text:  the same sentences indexed as text (the ceiling: what a perfect transcript gives).
// Recall@1, recall@10 and MRR@100 of each claim finding (one of) its recording(s), in dense, sparse
// and hybrid mode; the WER of the stored transcripts against the spoken text; ingest throughput in
// audio seconds per wall second (and per CPU second of this process) with the load average.
// The fixture holds 153 abstracts with a judged claim: with it, the recordings past those are
// unjudged abstracts (distractors, no claim of their own). The full train split has 200+:
//   node infra/cli/bin.mjs infra run -- node --import tsx test/bench/media/speech-retrieval.ts \
//     [--recordings 200] [--dataset <beir-dir> (default the fixture)] [--split train] [--max-words 55]
//     [--concurrency 4] [--json out.json]
// Hand-run, never in CI. Needs espeak-ng, sox and ffmpeg (Debian); clips are cached in ~/.cache/searchbus/bench.
import { spawnSync } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { groupPosition } from '../../../consumers/runtime/index.ts';
import { loadBeirSplit } from '../../../infra/eval/index.ts';
import { fileDocument, type DocumentInput } from '../../../producers/ingest/index.ts';
import { SEARCH_MODES, type SearchMode } from '../../../topology/index.ts';
import { readScifact, SCIFACT_DIR } from '../../support/corpus.ts';
import { allPoints, createHarness, waitFor, type Harness } from '../../support/harness.ts';
import { startMediaStack, type MediaStack } from '../../support/media-stack.ts';
import { wordErrorRate } from '../../support/word-error-rate.ts';
import { chanceScore, placementOfRank, score, type Placement, type RetrievalScore } from './retrieval-metrics.ts';
import { describeVoicing, ensureSpeechSet, INDEXED_VOICING } from './speech-set.ts';

const { values } = parseArgs({
  options: {
    recordings: { type: 'string', default: '200' },
    dataset: { type: 'string', default: SCIFACT_DIR },
    split: { type: 'string', default: 'train' },
    'max-words': { type: 'string', default: '55' },
    concurrency: { type: 'string', default: '4' },
    json: { type: 'string' },
  },
});
const CUTOFF = 100; // topK of every query: the largest the query consumer allows by default
const wanted = Number(values.recordings);
const maxWords = Number(values['max-words']);
const concurrency = Number(values.concurrency);
const log = (line: string): void => void process.stderr.write(`[speech-retrieval ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const load = (): number[] => loadavg().map((l) => Number(l.toFixed(2)));

interface Recording {
  /** The SciFact abstract it speaks. */
  abstractId: string;
  judged: boolean;
  /** Opaque id and title: nothing in either says what is spoken. */
  id: string;
  title: string;
  spoken: string;
  path: string;
  seconds: number;
}
interface Claim {
  id: string;
  text: string;
  /** Recording ids the claim is judged relevant to; finding any of them counts. */
  targets: Set<string>;
}
interface Ingest {
  documents: number;
  seconds: number;
  audioSeconds: number;
  audioSecondsPerWallSecond: number;
  audioSecondsPerCpuSecond: number;
  cpuSeconds: number;
  deadLetters: number;
  load: { start: number[]; end: number[] };
}
interface Condition {
  name: string;
  env: Record<string, string>;
  documents: (h: Harness) => Promise<DocumentInput[]>;
}

/** Eight consonants from a digest: no word of any claim, no digit to match a number in one. */
function opaque(seed: string): string {
  const letters = 'bcdfghjklmnpqrstvwxz';
  return [...createHash('sha256').update(seed).digest().subarray(0, 8)].map((b) => letters[b % letters.length]).join('');
}

/** The abstract's first sentence, and its second if both fit in `maxWords` words; cut at `maxWords` words. */
function spokenPart(abstract: string): string {
  const sentences = [...new Intl.Segmenter('en', { granularity: 'sentence' }).segment(abstract)]
    .map((s) => s.segment.trim())
    .filter((s) => s !== '');
  const words = (s: string): string[] => s.split(/\s+/).filter((w) => w !== '');
  let spoken = sentences[0] ?? '';
  if (sentences[1] && words(spoken).length + words(sentences[1]).length <= maxWords) spoken = `${spoken} ${sentences[1]}`;
  return words(spoken).slice(0, maxWords).join(' ');
}

/** The abstracts with a judged claim, in qrels order (then unjudged ones, if too few), and their claims. */
async function selectAbstracts(): Promise<{ picks: Array<{ abstractId: string; judged: boolean; spoken: string }>; claims: Claim[] }> {
  const split = await loadBeirSplit(values.dataset, values.split);
  const corpus = new Map((await readScifact(Infinity, values.dataset)).map((d) => [d.id, d]));
  const picks: Array<{ abstractId: string; judged: boolean; spoken: string }> = [];
  const taken = new Set<string>();
  const take = (abstractId: string, judged: boolean): void => {
    const doc = corpus.get(abstractId);
    if (picks.length >= wanted || taken.has(abstractId) || !doc) return;
    const spoken = spokenPart(doc.text);
    // A handful of words is no sentence to transcribe (empty or cut-off abstracts).
    if (spoken.split(/\s+/).length < 5) return;
    taken.add(abstractId);
    picks.push({ abstractId, judged, spoken });
  };
  for (const q of split.queries) for (const [docId, grade] of split.qrels.get(q.id) ?? []) if (grade > 0) take(docId, true);
  const judged = picks.length;
  for (const doc of corpus.values()) take(doc.id, false);
  if (picks.length < wanted) throw new Error(`only ${picks.length} speakable abstracts in ${values.dataset}, ${wanted} wanted`);
  if (judged < wanted) log(`only ${judged} abstracts have a judged claim; the other ${wanted - judged} recordings are distractors`);
  const recordingOf = new Map(picks.map((p, i) => [p.abstractId, recordingId(i)]));
  const claims = split.queries.flatMap((q) => {
    const targets = new Set(
      [...(split.qrels.get(q.id) ?? [])].flatMap(([docId, grade]) =>
        grade > 0 && recordingOf.has(docId) ? [recordingOf.get(docId)!] : [],
      ),
    );
    return targets.size > 0 ? [{ id: q.id, text: q.text, targets }] : [];
  });
  return { picks, claims };
}

const recordingId = (i: number): string => `rec-${opaque(`speech-retrieval-id-${i}`)}.wav`;

/** Publishes the documents and waits until both encoder groups have consumed them (and written them: offsets commit after Qdrant acknowledged). */
async function ingest(h: Harness, stack: MediaStack, documents: DocumentInput[], audioSeconds: number): Promise<Ingest> {
  const start = load();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const perSend = documents.some((d) => d.media) ? 8 : 200;
  for (let i = 0; i < documents.length; i += perSend) await stack.producer.upsert(documents.slice(i, i + perSend));
  let reported = started;
  await waitFor(
    'both encoder groups caught up',
    async () => {
      const lags = await Promise.all(
        [h.topology.groups.encoder, h.topology.groups.mediaEncoder].map((g) => groupPosition(h.admin, g, h.topology.topics.ingest)),
      );
      const lag = lags.reduce((sum, l) => sum + l.lag, 0);
      if (performance.now() - reported > 20_000) {
        reported = performance.now();
        log(`  ${lag} messages still to encode after ${((reported - started) / 1000).toFixed(0)} s (load ${load().join(' ')})`);
      }
      return lag === 0 ? true : undefined;
    },
    3_600_000,
    250,
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const dlq = await h.admin.fetchTopicOffsets(h.topology.topics.deadLetter);
  return {
    documents: documents.length,
    seconds: round(seconds),
    audioSeconds: round(audioSeconds),
    audioSecondsPerWallSecond: round(audioSeconds / seconds),
    audioSecondsPerCpuSecond: round(audioSeconds / cpuSeconds),
    cpuSeconds: round(cpuSeconds),
    deadLetters: dlq.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0),
    load: { start, end: load() },
  };
}

/** Every claim in every mode, `concurrency` at a time: where the first of its recordings landed. */
async function queryAll(stack: MediaStack, claims: Claim[]): Promise<Record<SearchMode, RetrievalScore>> {
  const out = {} as Record<SearchMode, RetrievalScore>;
  for (const mode of SEARCH_MODES) {
    const placements = new Array<Placement>(claims.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < claims.length; i = next++) {
        const claim = claims[i]!;
        const result = await stack.query.client.search({ text: claim.text, topK: CUTOFF, mode });
        if (result.mode !== mode) throw new Error(`asked for ${mode}, the reply ran ${String(result.mode)}`);
        const rank = result.hits.findIndex((hit) => claim.targets.has(hit.docId));
        placements[i] = placementOfRank(rank === -1 ? null : rank + 1);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    out[mode] = rounded(score(placements, CUTOFF));
    log(`  ${mode}: recall@1 ${out[mode].recallAt1}, recall@10 ${out[mode].recallAt10}, MRR ${out[mode].mrr}`);
  }
  return out;
}

/**
 * A recording's transcript as the encoder stored it: its transcript chunks in order, the title that
 * leads the first one dropped, and where a long segment was cut into overlapping windows, only what
 * each later window adds (`position` is the chunk's place in its segment's text).
 */
function storedTranscript(payloads: Array<Record<string, unknown>>, title: string): string {
  const chunks = payloads.filter((p) => p.text_source === 'transcript').sort((a, b) => Number(a.chunk) - Number(b.chunk));
  const segments: string[] = [];
  let segment = '';
  let current: string | null = null;
  for (const p of chunks) {
    const text = String(p.text);
    const position = p.position as { start: number; end: number } | undefined;
    const own = position
      ? text.slice(Math.max(0, text.length - (position.end - position.start)))
      : text.replace(new RegExp(`^${title}\\s*`), '');
    const key = `${String(p.start_ms)}-${String(p.end_ms)}`;
    if (key !== current) {
      if (current !== null) segments.push(segment);
      current = key;
      segment = own;
    } else segment += position ? own.slice(Math.max(0, segment.length - position.start)) : ` ${own}`;
  }
  if (current !== null) segments.push(segment);
  return segments.join(' ');
}

async function transcripts(h: Harness, recordings: Recording[]): Promise<Record<string, unknown>> {
  const byDoc = new Map<string, Array<Record<string, unknown>>>();
  for (const { payload } of await allPoints(h.qdrant, h.topology.qdrant.alias)) {
    const id = String(payload.doc_id);
    byDoc.set(id, [...(byDoc.get(id) ?? []), payload]);
  }
  const pairs = recordings.map((r) => ({ reference: r.spoken, hypothesis: storedTranscript(byDoc.get(r.id) ?? [], r.title) }));
  const segments = [...byDoc.values()].flat().filter((p) => p.text_source === 'transcript');
  log(`  e.g. spoken: "${pairs[0]?.reference}"\n  transcribed: "${pairs[0]?.hypothesis}"`);
  return {
    wer: round(wordErrorRate(pairs)),
    reference_words: pairs.reduce((sum, p) => sum + p.reference.split(/\s+/).length, 0),
    recordings_without_transcript: pairs.filter((p) => p.hypothesis.trim() === '').length,
    recordings_indexed: recordings.filter((r) => byDoc.has(r.id)).length,
    transcript_chunks: segments.length,
    examples: pairs.slice(0, 3),
  };
}

async function runCondition(c: Condition, claims: Claim[], recordings: Recording[]): Promise<Record<string, unknown>> {
  log(`${c.name}: ${JSON.stringify(c.env)}`);
  const h = await createHarness({ env: c.env });
  let stack: MediaStack | undefined;
  try {
    stack = await startMediaStack(h, { ocr: false, queryTimeoutMs: 300_000 });
    const documents = await c.documents(h);
    const audio = documents.some((d) => d.media) ? recordings.reduce((sum, r) => sum + r.seconds, 0) : 0;
    const ingested = await ingest(h, stack, documents, audio);
    log(`  ${documents.length} documents searchable after ${ingested.seconds} s (${ingested.audioSecondsPerWallSecond} audio s per s)`);
    const scores = await queryAll(stack, claims);
    const speech = h.config.media.speechToText && audio > 0 ? await transcripts(h, recordings) : undefined;
    return {
      text_model: stack.text.spec.id,
      speech_model: h.config.media.speechToText && audio > 0 ? h.config.media.speechModel.id : null,
      ingest: ingested,
      scores,
      ...(speech ? { transcripts: speech } : {}),
    };
  } finally {
    await stack?.close();
    await h.close();
  }
}

const round = (x: number): number => Number(x.toFixed(4));
const rounded = (s: RetrievalScore): RetrievalScore => ({
  queries: s.queries,
  recallAt1: round(s.recallAt1),
  recallAt10: round(s.recallAt10),
  mrr: round(s.mrr),
});

async function speechDocuments(h: Harness, recordings: Recording[]): Promise<DocumentInput[]> {
  return Promise.all(
    recordings.map(async (r) => {
      const record = await fileDocument(
        dirname(r.path),
        { path: r.path, bytes: (await stat(r.path)).size },
        { mediaInlineMaxBytes: h.config.media.inlineMaxBytes },
      );
      if (record.kind !== 'audio') throw new Error(`${r.path} was not taken as audio: ${JSON.stringify(record)}`);
      return { ...record.document, id: r.id, title: r.title };
    }),
  );
}

function render(r: Record<string, unknown>, conditions: Record<string, Record<string, unknown>>): string {
  const fmt = (s: RetrievalScore): string => `${s.recallAt1.toFixed(3)} / ${s.recallAt10.toFixed(3)} / ${s.mrr.toFixed(3)}`;
  const lines = [
    `speech retrieval benchmark, ${String(r.commit).slice(0, 10)}, ${String(r.cpu)}, load ${JSON.stringify(r.load_at_start)} -> ${JSON.stringify(r.load_at_end)}`,
    `${String(r.recordings)} recordings (${String(r.judged_recordings)} with a judged claim), ${String(r.claims)} claims; recall@1 / recall@10 / MRR@${CUTOFF}`,
    '',
    `| Condition | ${SEARCH_MODES.join(' | ')} |`,
    `|---|${SEARCH_MODES.map(() => '---|').join('')}`,
    `| chance (random order) | ${SEARCH_MODES.map(() => fmt(r.chance as RetrievalScore)).join(' | ')} |`,
  ];
  for (const [name, c] of Object.entries(conditions)) {
    const scores = c.scores as Record<SearchMode, RetrievalScore>;
    lines.push(`| ${name} | ${SEARCH_MODES.map((m) => fmt(scores[m])).join(' | ')} |`);
  }
  lines.push('');
  for (const [name, c] of Object.entries(conditions)) {
    const i = c.ingest as Ingest;
    const t = c.transcripts as { wer: number; reference_words: number; recordings_without_transcript: number } | undefined;
    lines.push(
      `${name}: ${i.documents} documents in ${i.seconds} s, ${i.audioSecondsPerWallSecond} audio s per wall s, ${i.audioSecondsPerCpuSecond} per CPU s (load ${i.load.start.join(' ')} -> ${i.load.end.join(' ')}), ${i.deadLetters} dead letters` +
        (t
          ? `; WER ${(100 * t.wer).toFixed(1)} % over ${t.reference_words} words, ${t.recordings_without_transcript} without transcript`
          : ''),
    );
  }
  return `${lines.join('\n')}\n`;
}

const results: Record<string, unknown> = {
  started: new Date().toISOString(),
  commit: spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
  cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
  node: process.version,
  dataset: values.dataset,
  cutoff: CUTOFF,
  load_at_start: load(),
};
const { picks, claims } = await selectAbstracts();
log(`${picks.length} abstracts, ${claims.length} claims; synthesising (espeak-ng ${describeVoicing(INDEXED_VOICING)})`);
const set = await ensureSpeechSet(
  picks.map((p) => p.spoken),
  log,
  { queryPhrases: 0 },
);
const recordings: Recording[] = await Promise.all(
  picks.map(async (p, i) => {
    const path = join(set.dir, set.indexed[i]!);
    // 16 kHz mono 16-bit PCM after a 44-byte header (ffmpeg's bit-exact WAV, speech-set.ts).
    const seconds = ((await stat(path)).size - 44) / 32_000;
    return { ...p, id: recordingId(i), title: opaque(`speech-retrieval-title-${i}`), path, seconds };
  }),
);
const seconds = recordings.map((r) => r.seconds);
Object.assign(results, {
  recordings: recordings.length,
  judged_recordings: recordings.filter((r) => r.judged).length,
  claims: claims.length,
  claims_with_several_recordings: claims.filter((c) => c.targets.size > 1).length,
  voicing: describeVoicing(INDEXED_VOICING),
  max_words: maxWords,
  spoken_words: recordings.reduce((sum, r) => sum + r.spoken.split(/\s+/).length, 0),
  clip_seconds: {
    mean: round(seconds.reduce((a, b) => a + b, 0) / seconds.length),
    max: round(Math.max(...seconds)),
    total: round(seconds.reduce((a, b) => a + b, 0)),
  },
  chance: rounded(
    chanceScore(
      recordings.length,
      claims.map((c) => c.targets.size),
      CUTOFF,
    ),
  ),
});
log(`clips: ${JSON.stringify(results.clip_seconds)} s`);

const conditions: Condition[] = [
  {
    name: 'plain text (ceiling)',
    env: {},
    documents: () => Promise.resolve(recordings.map((r) => ({ id: r.id, title: r.title, text: r.spoken }))),
  },
  { name: 'transcripts (speech to text)', env: { SEARCHBUS_SPEECH_TO_TEXT: 'true' }, documents: (h) => speechDocuments(h, recordings) },
  { name: 'title only (speech to text off)', env: { SEARCHBUS_SPEECH_TO_TEXT: 'false' }, documents: (h) => speechDocuments(h, recordings) },
];
const measured: Record<string, Record<string, unknown>> = {};
results.conditions = measured;
for (const c of conditions) {
  measured[c.name] = await runCondition(c, claims, recordings);
  // Written after each condition, so a run cut short keeps what it measured.
  if (values.json) await writeFile(values.json, `${JSON.stringify(results, null, 2)}\n`);
}
results.load_at_end = load();
results.finished = new Date().toISOString();
if (values.json) await writeFile(values.json, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(render(results, measured));
