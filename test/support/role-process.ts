import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Harness } from './harness.ts';

const CLI = fileURLToPath(new URL('../../infra/cli/bin.mjs', import.meta.url));

/** `searchbus run <role>` as a real process on the harness' services and namespace. */
export function startRoleProcess(h: Harness, role: string, env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'run', role], {
    env: {
      ...process.env,
      ...h.env,
      KAFKA_BROKERS: h.services.kafka.brokers.join(','),
      REDIS_URL: h.services.redis.url,
      QDRANT_URL: h.services.qdrant.url,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  return child;
}
