import net from 'node:net';
import tls from 'node:tls';
import { QdrantClient } from '@qdrant/js-client-rest';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type ISocketFactory, type LogEntry } from 'kafkajs';
import { trackSocket } from '../topology/index.ts';
import type { KafkaEndpoint, QdrantEndpoint, RedisEndpoint } from './services.ts';

// One place that turns endpoints into clients, with the settings every role wants.

export function createKafka(endpoint: KafkaEndpoint, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: endpoint.brokers,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, retries: 8 },
    socketFactory: scopedSocketFactory,
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      // kafkajs logs expected, retried conditions (coordinator loading, rebalances) as errors.
      if (entry.level <= logLevel.WARN && process.env.SEARCHBUS_KAFKA_LOG !== 'off') {
        const { message, error } = entry.log as { message?: string; error?: string };
        // Expected and retried: coordinators loading after a broker start, rebalances, and the
        // idempotent producer's note on bounded retries (a failed send surfaces to the caller), and
        // the connections searchbus itself closes when a unit stops during its start.
        if (/coordinator is (loading|not available)|not the correct coordinator|rebalanc|Limiting retries for the idempotent producer|(closed|refused) by searchbus/i.test(`${message} ${error}`)) return;
        process.stderr.write(`[kafkajs] ${entry.namespace} ${message ?? ''}${error ? `: ${error}` : ''}\n`);
      }
    },
  });
}

export function createQdrant(endpoint: QdrantEndpoint): QdrantClient {
  const url = new URL(endpoint.url);
  return new QdrantClient({
    url: endpoint.url,
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    ...(endpoint.apiKey ? { apiKey: endpoint.apiKey } : {}),
  });
}

export function createRedis(endpoint: RedisEndpoint, name: string): Redis {
  return new Redis(endpoint.url, { connectionName: name, maxRetriesPerRequest: null, enableReadyCheck: true });
}

const KEEP_ALIVE_DELAY_MS = 60_000;

/**
 * kafkajs' own socket factory, plus `trackSocket`: a consumer that is stopped while a broker holds
 * its connect or group join open can then close its sockets at once (topology/lifecycle.ts).
 */
const scopedSocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : net.connect({ host, port }, onConnect);
  socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
  trackSocket(socket);
  return socket;
};
