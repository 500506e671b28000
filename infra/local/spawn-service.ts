import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { serviceStartFailed, tail } from '../setup-failures.ts';
import type { Profile, ServiceName } from '../services.ts';
import { isAlive, processStartTicks, register, unregister, type ProcessEntry } from './process-registry.ts';

export interface SpawnSpec {
  service: ServiceName;
  profile: Profile;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logFile: string;
  endpoint: string;
  scratchDir: string | null;
  /** One readiness attempt; throws while the service is not ready. */
  probe: () => Promise<void>;
  readyTimeoutMs: number;
}

const PROBE_INTERVAL_MS = 150;

/** Starts a service process, records it in the registry and returns once its own protocol answers. */
export async function spawnService(spec: SpawnSpec): Promise<ProcessEntry> {
  const logFd = openSync(spec.logFile, 'a');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    // `up` services outlive the CLI; test services share the owner's process group so that a
    // Ctrl-C on the test run reaches them too.
    detached: spec.profile === 'up',
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let spawnError: Error | null = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  child.on('error', (error) => (spawnError = error));

  const pid = child.pid;
  if (pid === undefined) {
    await delay(0);
    throw serviceStartFailed(spec.service, `could not run ${spec.command}`, spec.logFile, spawnError ?? undefined);
  }
  const entry: ProcessEntry = {
    id: `${spec.service}-${spec.profile}-${randomUUID().slice(0, 8)}`,
    service: spec.service,
    profile: spec.profile,
    pid,
    startTicks: processStartTicks(pid) ?? 0,
    ownerPid: spec.profile === 'up' ? null : process.pid,
    ownerStartTicks: spec.profile === 'up' ? null : processStartTicks(process.pid),
    endpoint: spec.endpoint,
    logFile: spec.logFile,
    scratchDir: spec.scratchDir,
    startedAt: new Date().toISOString(),
  };
  await register(entry);

  const deadline = Date.now() + spec.readyTimeoutMs;
  let lastError: unknown;
  for (;;) {
    if (exited !== null || spawnError !== null) {
      const log = await readFile(spec.logFile, 'utf8').catch(() => '');
      await stopProcess(entry, 0);
      const how = spawnError ? String(spawnError) : `exited with ${(exited as { code: number | null } | null)?.code ?? 'a signal'}`;
      throw serviceStartFailed(spec.service, `${how}\n${tail(log, 20)}`, spec.logFile);
    }
    try {
      await spec.probe();
      return entry;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      await stopProcess(entry, 2_000);
      throw serviceStartFailed(spec.service, `not ready after ${spec.readyTimeoutMs} ms: ${String(lastError)}`, spec.logFile, lastError);
    }
    await delay(PROBE_INTERVAL_MS);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; removes throwaway data and the registry entry. */
export async function stopProcess(entry: ProcessEntry, graceMs: number): Promise<void> {
  await haltProcess(entry, graceMs);
  if (entry.scratchDir) await rm(entry.scratchDir, { recursive: true, force: true });
}

/**
 * Ends the process (`first`, then SIGKILL after `graceMs`) and forgets its registry entry, but keeps
 * its data: a fault test starts it again on the same port and data directory. The entry goes so
 * that no reaper, seeing a dead pid, removes the data of a process that is only down for a while.
 */
export async function haltProcess(entry: ProcessEntry, graceMs: number, first: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (isAlive(entry.pid, entry.startTicks)) {
    // A frozen (SIGSTOPped) process cannot act on SIGTERM until it runs again.
    signal(entry.pid, 'SIGCONT');
    signal(entry.pid, first);
    const deadline = Date.now() + graceMs;
    while (isAlive(entry.pid, entry.startTicks) && Date.now() < deadline) await delay(50);
    if (isAlive(entry.pid, entry.startTicks)) {
      signal(entry.pid, 'SIGKILL');
      while (isAlive(entry.pid, entry.startTicks)) await delay(20);
    }
  }
  await unregister(entry.id);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}
