// What the speech tests speak with espeak-ng and how they run the tools: Harvard sentences (IEEE
// 1969, lists 3 and 4 in part), short and unpredictable, so a transcript matches only if heard.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
