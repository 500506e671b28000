// The clips of the spoken-phrase benchmark, made on this machine with Debian's espeak-ng (speech),
// ffmpeg (16 kHz mono 16-bit WAV) and sox (noise): every phrase once in the indexed voice, and
// again in each query variant: other voices, other speeds, added white or pink noise at a set
// signal-to-noise ratio. Cached clip by clip, since synthesis is deterministic.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cacheDir } from '../../../infra/cache-dir.ts';
import { UnavailableError } from '../../../topology/errors.ts';
import { missingPrerequisite } from '../../../infra/setup-failures.ts';
import { runCommand } from '../../../infra/local/run-command.ts';

export interface Voicing {
  /** espeak-ng voice (language plus optional +variant). */
  voice: string;
  wordsPerMinute: number;
  noise?: { colour: 'white' | 'pink'; snrDb: number };
}

export const INDEXED_VOICING: Voicing = { voice: 'en-us', wordsPerMinute: 160 };

export const QUERY_VARIANTS = {
  'voice-rp-f3': { voice: 'en-gb-x-rp+f3', wordsPerMinute: 160 },
  'voice-scotland-m3': { voice: 'en-gb-scotland+m3', wordsPerMinute: 160 },
  'rp-f3-slow-120wpm': { voice: 'en-gb-x-rp+f3', wordsPerMinute: 120 },
  'rp-f3-fast-220wpm': { voice: 'en-gb-x-rp+f3', wordsPerMinute: 220 },
  'rp-f3-white-noise-10db': { voice: 'en-gb-x-rp+f3', wordsPerMinute: 160, noise: { colour: 'white', snrDb: 10 } },
  'scotland-m3-200wpm-white-noise-10db': { voice: 'en-gb-scotland+m3', wordsPerMinute: 200, noise: { colour: 'white', snrDb: 10 } },
} as const satisfies Record<string, Voicing>;
export type QueryVariant = keyof typeof QUERY_VARIANTS;

export function describeVoicing(v: Voicing): string {
  return `${v.voice}, ${v.wordsPerMinute} wpm${v.noise ? `, ${v.noise.colour} noise at ${v.noise.snrDb} dB SNR` : ''}`;
}

export interface SpeechSet {
  dir: string;
  phrases: string[];
  /** Relative paths of the indexed clips, one per phrase, in phrase order. */
  indexed: string[];
  /** Relative paths of the query clips, per variant, in phrase order (the first `queryPhrases` phrases). */
  queries: Record<QueryVariant, string[]>;
}

/**
 * The linear gain that puts noise of RMS level `noiseRmsDb` at `snrDb` below speech of RMS level
 * `speechRmsDb` (levels in dBFS, as sox's `stats` prints them).
 */
export function noiseGain(speechRmsDb: number, noiseRmsDb: number, snrDb: number): number {
  return 10 ** ((speechRmsDb - snrDb - noiseRmsDb) / 20);
}

/** The "RMS lev dB" figure of `sox FILE -n stats` output. */
export function parseRmsDb(statsOutput: string): number {
  const match = /^RMS lev dB\s+(-?[\d.]+|-inf)/m.exec(statsOutput);
  if (!match?.[1] || match[1] === '-inf')
    throw new UnavailableError('bench-tool-failed', `sox stats printed no RMS level:\n${statsOutput}`, { retriable: false });
  return Number(match[1]);
}

async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const result = await runCommand(command, args, cwd ? { cwd } : {});
  if (result.code !== 0)
    throw new UnavailableError(
      'bench-tool-failed',
      `${command} ${args.join(' ')} failed (exit ${result.code}):\n${result.output.slice(-1500)}`,
      { retriable: false },
    );
  return result.output;
}

async function requireSpeechTools(): Promise<void> {
  for (const [program, probe] of [
    ['espeak-ng', '--version'],
    ['sox', '--version'],
    ['ffmpeg', '-version'],
  ] as const) {
    const ok = await runCommand(program, [probe]).then(
      (r) => r.code === 0,
      () => false,
    );
    if (!ok) throw missingPrerequisite(program, 'The spoken-phrase benchmark needs it (Debian: apt-get install -y espeak-ng sox ffmpeg).');
  }
}

/** Speaks `phrase` into `out` (16 kHz mono WAV), with noise mixed in by sox if the voicing has it. */
async function speak(phrase: string, voicing: Voicing, out: string): Promise<void> {
  const raw = `${out}.espeak.wav`;
  const clean = voicing.noise ? `${out}.clean.wav` : out;
  await run('espeak-ng', ['-v', voicing.voice, '-s', String(voicing.wordsPerMinute), '-w', raw, phrase]);
  await run('ffmpeg', [
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-i',
    raw,
    '-ac',
    '1',
    '-ar',
    '16000',
    '-c:a',
    'pcm_s16le',
    '-map_metadata',
    '-1',
    '-fflags',
    '+bitexact',
    clean,
  ]);
  await rm(raw);
  if (!voicing.noise) return;
  const noise = `${out}.noise.wav`;
  // synth with an input file makes noise of the input's length and format; the fixed seed (-R) keeps clips reproducible.
  await run('sox', ['-R', clean, noise, 'synth', `${voicing.noise.colour}noise`]);
  const speechDb = parseRmsDb(await run('sox', [clean, '-n', 'stats']));
  const noiseDb = parseRmsDb(await run('sox', [noise, '-n', 'stats']));
  const gain = noiseGain(speechDb, noiseDb, voicing.noise.snrDb);
  // Both halved before mixing (same ratio) so the sum does not clip.
  await run('sox', ['-m', '-v', '0.5', clean, '-v', (0.5 * gain).toFixed(6), noise, out]);
  await rm(clean);
  await rm(noise);
}

/** A short digest of a voicing: a clip's folder names it, so a changed voicing never reuses old clips. */
function voicingKey(v: Voicing): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 8);
}

/**
 * Synthesises every clip of the benchmark for `phrases` (each clip once: a clip already on disk is
 * kept, since synthesis is deterministic), the queries for the first `queryPhrases` phrases only.
 */
export async function ensureSpeechSet(
  phrases: string[],
  log: (line: string) => void,
  options: { queryPhrases?: number; concurrency?: number } = {},
): Promise<SpeechSet> {
  await requireSpeechTools();
  const dir = cacheDir('bench', `media-speech-${createHash('sha256').update(JSON.stringify(phrases)).digest('hex').slice(0, 12)}`);
  const name = (i: number): string => `p${String(i).padStart(4, '0')}.wav`;
  const jobs: Array<{ phrase: string; voicing: Voicing; path: string }> = [];
  const folder = (label: string, voicing: Voicing): string => `${label}-${voicingKey(voicing)}`;
  const indexed = phrases.map((phrase, i) => {
    const path = `${folder('indexed', INDEXED_VOICING)}/${name(i)}`;
    jobs.push({ phrase, voicing: INDEXED_VOICING, path });
    return path;
  });
  const queries = {} as Record<QueryVariant, string[]>;
  for (const [variant, voicing] of Object.entries(QUERY_VARIANTS) as Array<[QueryVariant, Voicing]>) {
    queries[variant] = phrases.slice(0, options.queryPhrases ?? phrases.length).map((phrase, i) => {
      const path = `${folder(variant, voicing)}/${name(i)}`;
      jobs.push({ phrase, voicing, path });
      return path;
    });
  }
  const todo = jobs.filter((job) => !existsSync(join(dir, job.path)));
  log(`speech: ${jobs.length - todo.length} of ${jobs.length} clips already made in ${dir}`);
  for (const job of todo) await mkdir(dirname(join(dir, job.path)), { recursive: true });
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let job = todo[next++]; job; job = todo[next++]) {
      const out = join(dir, job.path);
      // Written under another name and renamed when whole, so an interrupted run leaves no half clip.
      await speak(job.phrase, job.voicing, `${out}.part.wav`);
      await rename(`${out}.part.wav`, out);
      if (++done % 100 === 0) log(`speech: ${done}/${todo.length} clips synthesised`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 2 }, worker));
  return { dir, phrases, indexed, queries };
}
