import { rm } from 'node:fs/promises';
import type { Profile, ServiceName } from '../services.ts';
import { isAlive, listEntries, ownerAlive, unregister, type ProcessEntry } from './process-registry.ts';
import { stopProcess } from './spawn-service.ts';

/**
 * Stops services whose owner died (a killed test run) and forgets entries whose process is gone.
 * Runs before every local start, so leftovers never pile up.
 */
export async function reapOrphans(log: (line: string) => void = () => undefined): Promise<ProcessEntry[]> {
  const reaped: ProcessEntry[] = [];
  for (const entry of await listEntries()) {
    if (!isAlive(entry.pid, entry.startTicks)) {
      // Its owner lives: it is halting or restarting that process (a fault test's kill -9), and
      // unregisters it itself. Removing its scratch directory now would break the restart.
      if (entry.ownerPid !== null && ownerAlive(entry)) continue;
      if (entry.scratchDir) await rm(entry.scratchDir, { recursive: true, force: true });
      await unregister(entry.id);
    } else if (!ownerAlive(entry)) {
      log(`Stopping ${entry.service} (pid ${entry.pid}) left behind by exited process ${entry.ownerPid}`);
      await stopProcess(entry, 2_000);
      reaped.push(entry);
    }
  }
  return reaped;
}

/** A live `up` service of this kind, so that `searchbus up` can be run again without a port clash. */
export async function findRunning(service: ServiceName, profile: Profile): Promise<ProcessEntry | undefined> {
  return (await listEntries()).find(
    (e) => e.service === service && e.profile === profile && e.ownerPid === null && isAlive(e.pid, e.startTicks),
  );
}
