import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaConnection, RejectedError, tlsOptions, UnavailableError } from '../topology/index.ts';
import type { KafkaEndpoint, RedisEndpoint } from './services.ts';

// One attempt each, bounded in time: callers decide how long to keep trying. A probe that succeeds
// proves the service answers its own protocol with the configured TLS and credentials, not merely
// that a port is open. Failures are the clients' own errors; probe-failures.ts names the setting.

export async function probeKafka(endpoint: KafkaEndpoint, timeoutMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: 'searchbus-probe',
    ...kafkaConnection(endpoint),
    connectionTimeout: timeoutMs,
    authenticationTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('metadata lists no brokers');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * A Redis error reply (`-WRONGPASS …`), as opposed to a network or TLS failure: a RejectedError whose
 * code says which refusal it was. The first word of a RESP error reply is its error code.
 */
const REDIS_REPLY_CODES = ['redis-wrongpass', 'redis-noauth', 'redis-auth-refused', 'redis-noperm', 'redis-error-reply'] as const;
export type RedisReplyCode = (typeof REDIS_REPLY_CODES)[number];

export function isRedisReplyError(error: unknown): error is RejectedError<RedisReplyCode> {
  return error instanceof RejectedError && (REDIS_REPLY_CODES as readonly string[]).includes(error.code);
}

function redisReplyError(command: string, reply: string): RejectedError<RedisReplyCode> {
  const code: RedisReplyCode = reply.startsWith('WRONGPASS')
    ? 'redis-wrongpass'
    : reply.startsWith('NOAUTH')
      ? 'redis-noauth'
      : command === 'AUTH'
        ? 'redis-auth-refused'
        : reply.startsWith('NOPERM')
          ? 'redis-noperm'
          : 'redis-error-reply';
  return new RejectedError(code, `${command} answered ${reply}`);
}

/** AUTH (when a password is configured), then PING, over TCP or TLS as the URL says. */
export async function probeRedis(endpoint: RedisEndpoint, timeoutMs: number): Promise<void> {
  const parsed = new URL(endpoint.url);
  const tls = endpoint.tls;
  const port = Number(parsed.port || 6379);
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const commands: Array<{ name: string; bytes: string }> = [];
  if (endpoint.password) {
    const args = endpoint.username ? [endpoint.username, endpoint.password.value] : [endpoint.password.value];
    commands.push({ name: 'AUTH', bytes: respCommand('AUTH', ...args) });
  }
  commands.push({ name: 'PING', bytes: respCommand('PING') });

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const socket: Socket = tls
      ? connectTls({ host, port, ...tlsOptions(tls), ...(isIp(host) ? {} : { servername: host }) })
      : connectTcp({ host, port });
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    let received = '';
    let answered = 0;
    socket.on(tls ? 'secureConnect' : 'connect', () => socket.write(commands.map((c) => c.bytes).join('')));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      // Each reply to AUTH and PING is one line: +OK, +PONG or -ERROR.
      let newline: number;
      while ((newline = received.indexOf('\r\n')) >= 0) {
        const line = received.slice(0, newline);
        received = received.slice(newline + 2);
        const command = commands[answered++]?.name ?? 'PING';
        if (line.startsWith('-')) return finish(redisReplyError(command, line.slice(1)));
        if (line === '+PONG') return finish();
      }
    });
    socket.on('error', (error) => finish(error));
    // The server closed the connection before answering (for instance plaintext sent to a TLS port).
    socket.on('close', () =>
      finish(new UnavailableError('connection-closed', 'the server closed the connection before answering', { retriable: false })),
    );
  });
}

export async function probeQdrant(url: string, apiKey: string | undefined, timeoutMs: number): Promise<void> {
  const response = await fetch(new URL('/readyz', url), {
    headers: apiKey ? { 'api-key': apiKey } : {},
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`GET /readyz answered ${response.status}`);
}

/** Qdrant answers /readyz without a key; listing collections proves the key is accepted. */
export async function probeQdrantKey(url: string, apiKey: string | undefined, timeoutMs: number): Promise<number> {
  const response = await fetch(new URL('/collections', url), {
    headers: apiKey ? { 'api-key': apiKey } : {},
    signal: AbortSignal.timeout(timeoutMs),
  });
  await response.body?.cancel();
  return response.status;
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

function respCommand(...parts: string[]): string {
  return `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
}
