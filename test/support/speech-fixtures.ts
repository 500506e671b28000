// What the speech tests speak with espeak-ng and how they run the tools: Harvard sentences (IEEE
// 1969, lists 3 and 4 in part), short and unpredictable, so a transcript matches only if heard.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allPoints, type Harness } from './harness.ts';

export const SPOKEN_SENTENCES = [
  'The stale smell of old beer lingers.',
  'The small pup gnawed a hole in the sock.',
  'Wipe the grease off his dirty face.',
  'The wide road shimmered in the hot sun.',
  'We talked of the side show in the circus.',
  'The fish twisted and turned on the bent hook.',
  'Press the pants and sew a button on the vest.',
  'The swan dive was far short of perfect.',
  'The beauty of the view stunned the young boy.',
  'Two blue fish swam in the tank.',
] as const;

/** Runs a tool (espeak-ng, ffmpeg) and fails the test with its stderr when it fails. */
export function runTool(command: string, args: string[]): void {
  const result = spawnSync(command, args);
  assert.equal(result.status, 0, `${command} failed: ${result.stderr?.toString()}`);
}

/** The payloads of one document's points in the harness' collection. */
export async function payloadsOf(h: Harness, docId: string): Promise<Array<Record<string, unknown>>> {
  return (await allPoints(h.qdrant, h.topology.qdrant.alias)).filter((p) => p.payload.doc_id === docId).map((p) => p.payload);
}

/** The sentences spoken by espeak-ng after `leadSeconds` of silence (none by default), 1.5 s apart, as a 16 kHz mono WAV file in `work`. */
export function spokenWav(work: string, name: string, sentences: readonly string[], leadSeconds = 0): string {
  const parts = sentences.map((sentence, i) => {
    const path = join(work, `${name}-${i}.wav`);
    runTool('espeak-ng', ['-v', 'en-us', '-s', '160', '-w', path, sentence]);
    return path;
  });
  const chain = parts.map((_, i) => `[${i}:a]aresample=16000,apad=pad_dur=1.5[a${i}];`).join('');
  const spoken = parts.map((_, i) => `[a${i}]`).join('');
  const graph =
    leadSeconds > 0
      ? `aevalsrc=0:d=${leadSeconds}:s=16000[lead];${chain}[lead]${spoken}concat=n=${parts.length + 1}:v=0:a=1[out]`
      : `${chain}${spoken}concat=n=${parts.length}:v=0:a=1[out]`;
  const out = join(work, `${name}.wav`);
  runTool('ffmpeg', [
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    ...parts.flatMap((p) => ['-i', p]),
    '-filter_complex',
    graph,
    '-map',
    '[out]',
    out,
  ]);
  return out;
}

/** A photo on screen at 2 frames a second for as long as the soundtrack (or 3 s without one), as MP4 bytes (MPEG-4 Part 2, AAC). */
export function talkingVideo(work: string, name: string, photo: string, soundtrack: string | null): Buffer {
  const out = join(work, name);
  const audio = soundtrack ? ['-i', soundtrack, '-map', '0:v', '-map', '1:a', '-c:a', 'aac', '-b:a', '48k', '-shortest'] : ['-t', '3'];
  runTool('ffmpeg', [
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-loop',
    '1',
    '-framerate',
    '2',
    '-i',
    photo,
    ...audio,
    '-vf',
    'scale=320:240,format=yuv420p',
    '-c:v',
    'mpeg4',
    '-q:v',
    '6',
    out,
  ]);
  return readFileSync(out);
}
