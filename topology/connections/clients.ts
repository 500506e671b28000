import net from 'node:net';
import tls from 'node:tls';
import { Redis } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type ISocketFactory, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { trackSocket } from '../lifecycle.ts';
import { reportRedisErrors } from './redis-errors.ts';
import type { KafkaEndpoint, RedisEndpoint, TlsSettings } from './endpoints.ts';

// One place that turns endpoints into clients, with the settings every role wants. Every Kafka
// client (roles, CLI, admin, probes) is built from kafkaConnection, and every Redis connection
// (BullMQ duplicates the one it is given) from redisConnection, so TLS and credentials reach all.

/** Brokers, TLS and SASL of an endpoint, in kafkajs' terms. */
export function kafkaConnection(endpoint: KafkaEndpoint): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> {
  return {
    brokers: endpoint.brokers,
    ...(endpoint.tls && { ssl: tlsOptions(endpoint.tls) }),
    ...(endpoint.sasl && {
      sasl: { mechanism: endpoint.sasl.mechanism, username: endpoint.sasl.username, password: endpoint.sasl.password.value } as SASLOptions,
    }),
  };
}

export function createKafka(endpoint: KafkaEndpoint, clientId: string): Kafka {
  return new Kafka({
    clientId,
    ...kafkaConnection(endpoint),
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
        if (
          /coordinator is (loading|not available)|not the correct coordinator|rebalanc|Limiting retries for the idempotent producer|(closed|refused) by searchbus/i.test(
            `${message} ${error}`,
          )
        )
          return;
        process.stderr.write(`[kafkajs] ${entry.namespace} ${message ?? ''}${error ? `: ${error}` : ''}\n`);
      }
    },
  });
}

/** Credentials and TLS of an endpoint, in ioredis' terms (host, port and db come from its URL). */
export function redisConnection(endpoint: RedisEndpoint): { username?: string; password?: string; tls?: ConnectionOptions } {
  return {
    ...(endpoint.username !== undefined && { username: endpoint.username }),
    ...(endpoint.password && { password: endpoint.password.value }),
    ...(endpoint.tls && { tls: tlsOptions(endpoint.tls) }),
  };
}

export function createRedis(endpoint: RedisEndpoint, name: string): Redis {
  // maxRetriesPerRequest null: commands wait for the reconnect instead of failing; subscriptions
  // are renewed on it (ioredis' autoResubscribe).
  const redis = new Redis(endpoint.url, {
    ...redisConnection(endpoint),
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
  });
  reportRedisErrors(redis, name);
  return redis;
}

/** Node's TLS options; certificates are always verified (no setting turns that off). */
export function tlsOptions(tls: TlsSettings): ConnectionOptions {
  return {
    rejectUnauthorized: true,
    ...(tls.ca && { ca: [tls.ca.pem] }),
    ...(tls.cert && { cert: tls.cert.pem }),
    ...(tls.key && { key: tls.key.pem }),
  };
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
