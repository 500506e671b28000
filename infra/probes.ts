import { connect } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';

// One attempt each, bounded in time: callers decide how long to keep trying. A probe that succeeds
// proves the service answers its own protocol, not merely that a port is open.

export async function probeKafka(brokers: string[], timeoutMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: 'searchbus-probe',
    brokers,
    connectionTimeout: timeoutMs,
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

export async function probeRedis(url: string, timeoutMs: number): Promise<void> {
  const parsed = new URL(url);
  const port = Number(parsed.port || 6379);
  const host = parsed.hostname || '127.0.0.1';
  const commands: string[] = [];
  if (parsed.password) {
    const user = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    commands.push(user ? respCommand('AUTH', user, password) : respCommand('AUTH', password));
  }
  commands.push(respCommand('PING'));
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let received = '';
    socket.on('connect', () => socket.write(commands.join('')));
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      if (received.includes('+PONG')) {
        clearTimeout(timer);
        socket.end();
        resolve();
      } else if (received.startsWith('-')) {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(received.trim()));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export async function probeQdrant(url: string, apiKey: string | undefined, timeoutMs: number): Promise<void> {
  const response = await fetch(new URL('/readyz', url), {
    headers: apiKey ? { 'api-key': apiKey } : {},
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`GET /readyz answered ${response.status}`);
}

function respCommand(...parts: string[]): string {
  return `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
}
