import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataDir } from '../cache-dir.ts';
import { missingPrerequisite, registryUnreachable } from '../setup-failures.ts';
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
    throw missingPrerequisite(
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
  if (install.code !== 0) throw registryUnreachable("Debian's package archive", 'redis-server', install.output);
  const after = await runCommand('sh', ['-c', 'command -v redis-server']);
  if (after.code !== 0) throw missingPrerequisite('redis-server', 'apt-get reported success but redis-server is not on PATH.');
  return after.output.trim();
}

export async function startRedis(options: {
  profile: Profile;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Tests only: TLS on the port instead of plaintext, and an ACL user instead of the open default user. */
  secure?: RedisSecureOptions;
}): Promise<StartedService<RedisEndpoint>> {
  const { profile, env, log, secure } = options;
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
  const persistence =
    profile === 'test' ? ['--save', '', '--appendonly', 'no'] : ['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'];
  const url = `${secure ? 'rediss' : 'redis'}://127.0.0.1:${port}`;
  const endpoint: RedisEndpoint = secure ? secureEndpoint(url, secure) : { url };
  log(`Starting Redis on 127.0.0.1:${port}${secure ? ' (TLS, ACL)' : ''}…`);
  const redis = await startServiceProcess(
    {
      service: 'redis',
      profile,
      command: server,
      args: [
        ...(secure ? secureArgs(port, secure) : ['--port', String(port)]),
        '--bind',
        '127.0.0.1',
        '--dir',
        home,
        '--daemonize',
        'no',
        '--logfile',
        '',
        ...persistence,
      ],
      logFile: join(home, 'redis.log'),
      endpoint: url,
      scratchDir: scratch,
      probe: () => probeRedis(endpoint, 1_000),
      readyTimeoutMs: 20_000,
    },
    { graceMs: 10_000 },
  );
  return { endpoint, close: () => redis.close(), process: redis };
}

export interface RedisSecureOptions {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** `yes`: clients must present a certificate signed by `caFile`; `optional`: verified when given. */
  authClients: 'yes' | 'optional' | 'no';
  /** The only user that can log in (the `default` user is disabled); full access to every key and channel. */
  user: { username: string; password: string };
}

function secureArgs(port: number, secure: RedisSecureOptions): string[] {
  const { username, password } = secure.user;
  if (!/^[\w-]+$/.test(username) || !/^[\w-]+$/.test(password))
    throw new Error('the ACL user needs a name and password of letters, digits, _ and -');
  return [
    '--port',
    '0',
    '--tls-port',
    String(port),
    '--tls-cert-file',
    secure.certFile,
    '--tls-key-file',
    secure.keyFile,
    '--tls-ca-cert-file',
    secure.caFile,
    '--tls-auth-clients',
    secure.authClients,
    '--user',
    'default',
    'off',
    '--user',
    username,
    'on',
    `>${password}`,
    '~*',
    '&*',
    '+@all',
  ];
}

function secureEndpoint(url: string, secure: RedisSecureOptions): RedisEndpoint {
  return {
    url,
    username: secure.user.username,
    password: { setting: 'REDIS_PASSWORD', value: secure.user.password },
    tls: { ca: { setting: 'REDIS_TLS_CA_FILE', file: secure.caFile, pem: readFileSync(secure.caFile, 'utf8') } },
  };
}
