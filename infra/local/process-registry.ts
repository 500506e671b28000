import { mkdir, readdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runDir } from '../cache-dir.ts';
import type { Profile, ServiceName } from '../services.ts';

// Every process searchbus starts is written down here with its owner. A test run that is killed
// cannot stop its services, so the next start reaps entries whose owner is gone. The process start
// time guards against killing an unrelated process that reused the pid.

export interface ProcessEntry {
  id: string;
  service: ServiceName;
  profile: Profile;
  pid: number;
  startTicks: number;
  /** The process that owns this service; `null` for `searchbus up` services, which outlive the CLI. */
  ownerPid: number | null;
  ownerStartTicks: number | null;
  endpoint: string;
  logFile: string;
  /** Removed when the process stops (throwaway test data). */
  scratchDir: string | null;
  startedAt: string;
}

export function processStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) follows the parenthesised command, which may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number, startTicks: number | null): boolean {
  const ticks = processStartTicks(pid);
  if (ticks === null) return false;
  if (startTicks !== null && ticks !== startTicks) return false;
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = state.slice(state.lastIndexOf(')') + 2, state.lastIndexOf(')') + 3);
    return status !== 'Z';
  } catch {
    return false;
  }
}

export async function register(entry: ProcessEntry): Promise<void> {
  await mkdir(runDir(), { recursive: true });
  const file = join(runDir(), `${entry.id}.json`);
  await writeFile(`${file}.tmp`, JSON.stringify(entry, null, 2));
  await rename(`${file}.tmp`, file);
}

export async function unregister(id: string): Promise<void> {
  await rm(join(runDir(), `${id}.json`), { force: true });
}

export async function listEntries(): Promise<ProcessEntry[]> {
  let names: string[];
  try {
    names = await readdir(runDir());
  } catch {
    return [];
  }
  const entries: ProcessEntry[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    try {
      entries.push(JSON.parse(await readFile(join(runDir(), name), 'utf8')) as ProcessEntry);
    } catch {
      // A half-written entry belongs to a start that died before registering; nothing to stop.
      await rm(join(runDir(), name), { force: true });
    }
  }
  return entries;
}

export function ownerAlive(entry: ProcessEntry): boolean {
  return entry.ownerPid === null || isAlive(entry.ownerPid, entry.ownerStartTicks);
}
