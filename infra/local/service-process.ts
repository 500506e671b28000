import { rm } from 'node:fs/promises';
import { ContractError } from '../../topology/errors.ts';
import type { ServiceProcess } from '../services.ts';
import type { ProcessEntry } from './process-registry.ts';
import { haltProcess, spawnService, type SpawnSpec } from './spawn-service.ts';

/** Spawns `spec` (see spawnService) under a handle that can halt and restart it. */
export async function startServiceProcess(spec: SpawnSpec, options: { label?: string; graceMs: number }): Promise<ServiceProcess> {
  let entry: ProcessEntry | null = await spawnService(spec);
  let closed: Promise<void> | undefined;
  const label = options.label ?? spec.service;
  return {
    service: spec.service,
    label,
    get pid() {
      return entry?.pid ?? null;
    },
    signal(name) {
      if (!entry) throw new ContractError('invalid-lifecycle-state', `${label} is not running`);
      process.kill(entry.pid, name);
    },
    async halt(how = 'graceful') {
      if (!entry) return;
      const current = entry;
      entry = null;
      await haltProcess(current, how === 'kill' ? 0 : options.graceMs, how === 'kill' ? 'SIGKILL' : 'SIGTERM');
    },
    async restart() {
      if (closed) throw new ContractError('invalid-lifecycle-state', `${label} was stopped for good`);
      if (entry) throw new ContractError('invalid-lifecycle-state', `${label} is running; halt it first`);
      entry = await spawnService(spec);
    },
    close() {
      closed ??= (async () => {
        if (entry) await haltProcess(entry, options.graceMs);
        entry = null;
        if (spec.scratchDir) await rm(spec.scratchDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
