// The Qdrant Edge server behind QDRANT_URL as a process of this machine (infra/local/qdrant-process.ts
// starts it as `python server.py --port P --storage DIR`): found by its command line, so its resident
// memory and the size of its storage directory can be read while the benchmark runs.
import { readdir, readFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';

export interface QdrantProcess {
  pid: number;
  storage: string;
}

/** The local Edge server listening on the port of `url`, or null when Qdrant runs elsewhere (a container, a cluster). */
export async function findQdrantProcess(url: string): Promise<QdrantProcess | null> {
  const port = new URL(url).port;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const args = await readFile(`/proc/${entry}/cmdline`, 'utf8')
      .then((raw) => raw.split('\0'))
      .catch(() => [] as string[]);
    if (!args.some((a) => a.endsWith('server.py'))) continue;
    const value = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    if (args.includes('--port') && value('--port') === port && value('--storage'))
      return { pid: Number(entry), storage: value('--storage')! };
  }
  return null;
}

/**
 * Resident memory of the process, in MiB: all of it (VmRSS), and the part that is file pages
 * (RssFile: memory-mapped segment and payload files, which the kernel can drop and read again).
 */
export async function residentMb(pid: number): Promise<number> {
  return (await memory(pid)).total;
}

export async function memory(pid: number): Promise<{ total: number; file: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  return { total: field('VmRSS'), file: field('RssFile') };
}

/** Bytes on disk under a directory (allocated blocks, so sparse and preallocated files count as what they occupy), in MiB. */
export async function diskMb(dir: string): Promise<number> {
  let bytes = 0;
  const walk = async (path: string): Promise<void> => {
    const stat = await lstat(path).catch(() => null);
    if (!stat) return;
    if (stat.isDirectory()) for (const child of await readdir(path).catch(() => [] as string[])) await walk(join(path, child));
    else bytes += stat.blocks * 512;
  };
  await walk(dir);
  return bytes / 2 ** 20;
}
