import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataDir } from '../cache-dir.ts';
import { MissingPrerequisiteError, RegistryUnreachableError } from '../errors.ts';
import { probeRedis } from '../probes.ts';
import type { Profile, RedisEndpoint, StartedService } from '../services.ts';
import { assertPortFree, freePort, portFromEnv } from './ports.ts';
import { runCommand } from './run-command.ts';
import { startServiceProcess } from './service-process.ts';

/** Finds redis-server, installing Debian's package when running as root on a Debian machine. */
export async function ensureRedisServer(log: (line: string) => void = () => undefined): Promise<string> {
  const found = await runCommand('sh', ['-c', 'command -v redis-server']);
  if (found.code === 0) return found.output.trim();

  const apt = await runCommand('sh', ['-c', 'command -v apt-get']);
  const root = process.getuid?.() === 0;
  if (!root || apt.code !== 0) {
    throw new MissingPrerequisiteError(
      'redis-server',
      'Install Redis 7 (Debian: `sudo apt-get install -y redis-server`; macOS: `brew install redis`) or set REDIS_URL.',
    );
  }
  log('Installing redis-server from Debian packages…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let install = await runCommand('apt-get', ['install', '-y', '-q', 'redis-server'], { env });
  if (install.code !== 0) {
    // A fresh machine has no package lists yet.
    await runCommand('apt-get', ['update', '-q'], { env });
    install = await runCommand('apt-get', ['install', '-y', '-q', 'redis-server'], { env });
  }
  if (install.code !== 0) throw new RegistryUnreachableError("Debian's package archive", 'redis-server', install.output);
  const after = await runCommand('sh', ['-c', 'command -v redis-server']);
  if (after.code !== 0) throw new MissingPrerequisiteError('redis-server', 'apt-get reported success but redis-server is not on PATH.');
  return after.output.trim();
}

export async function startRedis(options: {
  profile: Profile;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}): Promise<StartedService<RedisEndpoint>> {
  const { profile, env, log } = options;
  const server = await ensureRedisServer(log);
  let port: number;
  if (profile === 'up') {
    port = portFromEnv(env, 'SEARCHBUS_REDIS_PORT', 6379);
    await assertPortFree(port, 'Redis', 'SEARCHBUS_REDIS_PORT');
  } else {
    port = await freePort();
  }
  const scratch = profile === 'test' ? await mkdtemp(join(tmpdir(), 'searchbus-redis-')) : null;
  const home = scratch ?? dataDir('redis');
  await mkdir(home, { recursive: true });
  // Tests want no disk writes; `up` keeps an append-only file so queued re-index jobs survive restarts.
  const persistence = profile === 'test' ? ['--save', '', '--appendonly', 'no'] : ['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'];
  const url = `redis://127.0.0.1:${port}`;
  log(`Starting Redis on 127.0.0.1:${port}…`);
  const redis = await startServiceProcess({
    service: 'redis',
    profile,
    command: server,
    args: ['--port', String(port), '--bind', '127.0.0.1', '--dir', home, '--daemonize', 'no', '--logfile', '', ...persistence],
    logFile: join(home, 'redis.log'),
    endpoint: url,
    scratchDir: scratch,
    probe: () => probeRedis(url, 1_000),
    readyTimeoutMs: 20_000,
  }, { graceMs: 10_000 });
  return { endpoint: { url }, stop: () => redis.stop(), process: redis };
}
