import { readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { listEntries } from '../../infra/local/index.ts';

// Memory of the services a benchmark runs against, as Linux reports it: a process's resident set
// (VmRSS from /proc) and the bytes a Qdrant Edge collection holds on disk.

export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** The local Qdrant (Edge) process serving `url`, from searchbus' process registry; null for one searchbus did not start. */
export async function localQdrant(url: string): Promise<{ pid: number; storage: string | null } | null> {
  const port = new URL(url).port;
  const entry = (await listEntries()).find((e) => e.service === 'qdrant' && new URL(e.endpoint).port === port);
  if (!entry) return null;
  return { pid: entry.pid, storage: entry.scratchDir ? join(entry.scratchDir, 'storage') : null };
}

/** Bytes under a collection's folder (`<storage>/collections/<id>/`, named in its collection.json); null if not found. */
export async function collectionDiskBytes(storage: string, name: string): Promise<number | null> {
  const root = join(storage, 'collections');
  for (const id of await readdir(root)) {
    const meta = await readFile(join(root, id, 'collection.json'), 'utf8').catch(() => null);
    if (meta !== null && (JSON.parse(meta) as { name?: unknown }).name === name) return folderBytes(join(root, id));
  }
  return null;
}

async function folderBytes(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    total += entry.isDirectory() ? await folderBytes(child) : (await stat(child)).size;
  }
  return total;
}
