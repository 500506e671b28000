import { homedir } from 'node:os';
import { join } from 'node:path';

// Downloads (Kafka jars, the Qdrant Edge venv, models) live outside the clone so that they survive
// `git clean` and are shared by every checkout on the machine.
export function cacheDir(...parts: string[]): string {
  const root = process.env.SEARCHBUS_CACHE_DIR ?? join(homedir(), '.cache', 'searchbus');
  return join(root, ...parts);
}

/** Persistent data of `searchbus up` (Kafka log dirs, Redis AOF, Qdrant storage). */
export function dataDir(...parts: string[]): string {
  const root = process.env.SEARCHBUS_DATA_DIR ?? join(homedir(), '.local', 'share', 'searchbus');
  return join(root, ...parts);
}

/** The registry of processes that searchbus started, so a later run can find and stop them. */
export function runDir(...parts: string[]): string {
  return cacheDir('run', ...parts);
}
