import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet } from 'jose';
import type { Redis } from 'ioredis';
import type { GatewayWatches } from './gateway-options.ts';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../../consumers/runtime/index.ts';
import {
  closeAll,
  closeOnce,
  ConfigError,
  quitGracefully,
  SETTINGS,
  type CleanupStep,
  type GatewayConfig,
  type SearchbusConfig,
  type Topology,
} from '../../topology/index.ts';
import { SearchClient } from '../../producers/search-client/index.ts';
import { RedisAdminBackend, resolveEvalSetDirs } from './admin-backend.ts';
import { ApiKeyStore, loadAndWatchKeysFile } from './api-keys.ts';
import {
  ASYMMETRIC_ALGORITHMS,
  credentialAuthenticator,
  HMAC_ALGORITHMS,
  openAuthenticator,
  type Authenticator,
  type JwtVerifier,
} from './authenticator.ts';
import { startGateway, type RunningGateway } from './gateway-server.ts';
import { KafkaProbe } from './kafka-probe.ts';

// The gateway as a process runs it: settings -> authenticator, a SearchClient, a Kafka probe for
// readiness, the backend of the /admin/ endpoints (eval sets and rebuild jobs in Redis), and the
// HTTP server. Used by the `gateway` role and by `searchbus gateway`.

export interface GatewayServiceOptions {
  /** Gives the search producer and the readiness probe. */
  kafka: Kafka;
  /** A connection of its own, put in subscriber mode for replies. */
  redis: Redis;
  topology: Topology;
  config: SearchbusConfig;
  logger: Logger;
  /** Overrides SEARCHBUS_GATEWAY_PORT (`searchbus gateway --port`). */
  port?: number;
  probe?: { intervalMs: number; staleMs: number };
  /** How often the keys file is checked for changes. */
  keysReloadMs?: number;
  /** The /watches endpoints; absent (a gateway without models) they answer 404. */
  watches?: GatewayWatches;
}

export interface GatewayService {
  port: number;
  /** Kafka answers the probe and the reply subscription on Redis is up. */
  ready(): boolean;
  /** One line saying how callers authenticate. */
  auth: string;
  /** Closes what it opened, in reverse order; every step runs even when one throws. Idempotent. */
  close(): Promise<void>;
}

export async function startGatewayService(options: GatewayServiceOptions): Promise<GatewayService> {
  const { config, logger } = options;
  // What has been opened so far, closed in reverse order by close() (every step runs; CleanupError lists failures).
  const cleanups: CleanupStep[] = [];
  const close = closeOnce(() => closeAll('the gateway', cleanups.splice(0).reverse()));
  try {
    // First, so that its close() also quits the Redis connection if a later step fails.
    const client = new SearchClient({
      kafka: options.kafka,
      redis: options.redis,
      topology: options.topology,
      defaultTimeoutMs: config.query.defaultTimeoutMs,
      hedgeAfterMs: config.query.hedgeAfterMs,
      startTimeoutMs: config.startTimeoutMs,
    });
    cleanups.push({ name: 'close the search client', run: () => client.close() });
    const auth = await buildAuthenticator(config.gateway, logger, options.keysReloadMs ?? 1_000);
    cleanups.push({ name: 'stop watching the keys file', run: () => auth.close() });
    const probe = new KafkaProbe(options.kafka.admin(), options.probe);
    cleanups.push({ name: 'close the Kafka readiness probe', run: () => probe.close() });
    const admin = await adminBackend(options, cleanups);
    await client.connect();
    await probe.start();
    const ready = (): boolean => client.isReady() && probe.isReady();
    const checks = (): Record<string, boolean> => {
      const connections = client.readiness();
      return { kafka: connections.kafka && probe.isReady(), redis: connections.redis };
    };
    let gateway: RunningGateway;
    const port = options.port ?? config.gateway.port;
    try {
      gateway = await startGateway({
        searcher: client,
        port,
        host: config.gateway.host,
        authenticator: auth.authenticator,
        rateLimit: config.gateway.ratePerSecond > 0 ? { perSecond: config.gateway.ratePerSecond, burst: config.gateway.rateBurst } : null,
        limits: {
          maxBodyBytes: config.gateway.maxBodyBytes,
          maxUrlBytes: config.gateway.maxUrlBytes,
          maxUploadBytes: config.media.inlineMaxBytes,
        },
        ...(options.watches ? { watches: options.watches } : {}),
        admin: { backend: admin, maxEvalSetBytes: config.gateway.maxEvalSetBytes, shadowSampleRate: config.reindex.shadowSampleRate },
        ready,
        checks,
      });
    } catch (error) {
      throw new ConfigError(
        SETTINGS.gatewayPort,
        `the HTTP gateway cannot listen on ${config.gateway.host}:${port}: ${(error as Error).message}`,
      );
    }
    cleanups.push({ name: 'close the HTTP server', run: () => gateway.close() });
    return { port: gateway.port, ready, auth: auth.description, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/**
 * The /admin/ endpoints' backend, on a Redis connection of its own (the one given is the reply
 * subscriber, which can run no other command).
 */
async function adminBackend(options: GatewayServiceOptions, cleanups: CleanupStep[]): Promise<RedisAdminBackend> {
  const evalSetDirs = await resolveEvalSetDirs(options.config.gateway.evalSetDirs, SETTINGS.gatewayEvalSetDirs);
  const redis = options.redis.duplicate();
  cleanups.push({ name: 'close the admin Redis connection', run: () => quitGracefully(redis) });
  const backend = new RedisAdminBackend({ redis, topology: options.topology, config: options.config, evalSetDirs });
  cleanups.push({ name: 'close the rebuild queue', run: () => backend.close() });
  return backend;
}

async function buildAuthenticator(
  config: GatewayConfig,
  logger: Logger,
  keysReloadMs: number,
): Promise<{ authenticator: Authenticator; description: string; close(): void }> {
  if (config.auth.length === 0) {
    if (config.unauthenticatedOnPublicHost) {
      logger.warn(
        `SECURITY: the gateway listens on ${config.host} with ${SETTINGS.gatewayAuth}=none: anyone who reaches it can search every tenant. Only run it so behind something that authenticates callers and sets their tenant.`,
      );
    }
    return {
      authenticator: openAuthenticator,
      description: `no authentication (${SETTINGS.gatewayAuth}=none): the tenant parameter is trusted`,
      close: () => undefined,
    };
  }
  let apiKeys: ApiKeyStore | null = null;
  let watcher: { close(): void } | null = null;
  if (config.auth.includes('api-keys') && config.keysFile !== null) {
    apiKeys = new ApiKeyStore();
    const store = apiKeys;
    watcher = await loadAndWatchKeysFile({
      path: config.keysFile,
      setting: SETTINGS.gatewayKeysFile,
      store,
      intervalMs: keysReloadMs,
      onReload: (count) => logger.info('gateway keys file reloaded', { file: config.keysFile, keys: count }),
      onError: (error) =>
        logger.error('gateway keys file not reloaded; the keys loaded before stay in force', {
          file: config.keysFile,
          error: error.message,
        }),
    });
    if (store.size === 0) logger.warn('the gateway keys file holds no key: every search will get 401', { file: config.keysFile });
  }
  const jwt = config.jwt ? await jwtVerifier(config) : null;
  return {
    authenticator: credentialAuthenticator({ apiKeys, jwt }),
    description: `authentication: ${config.auth.join(' or ')}`,
    close: () => watcher?.close(),
  };
}

async function jwtVerifier(config: GatewayConfig): Promise<JwtVerifier> {
  const jwt = config.jwt!;
  const common = { issuer: jwt.issuer, audience: jwt.audience, tenantClaim: jwt.tenantClaim };
  if (jwt.secret !== null) return { key: new TextEncoder().encode(jwt.secret), algorithms: HMAC_ALGORITHMS, ...common };
  if (jwt.jwksFile !== null) {
    let set: JSONWebKeySet;
    try {
      set = JSON.parse(await readFile(jwt.jwksFile, 'utf8')) as JSONWebKeySet;
      const key = createLocalJWKSet(set);
      return { key, algorithms: ASYMMETRIC_ALGORITHMS, ...common };
    } catch (error) {
      throw new ConfigError(SETTINGS.gatewayJwtJwksFile, `${jwt.jwksFile} is not a usable JWKS: ${(error as Error).message}`);
    }
  }
  const remote = createRemoteJWKSet(new URL(jwt.jwksUrl!), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  try {
    await remote.reload();
  } catch (error) {
    throw new ConfigError(SETTINGS.gatewayJwtJwksUrl, `fetching the JWKS from ${jwt.jwksUrl} failed: ${(error as Error).message}`);
  }
  return { key: remote, algorithms: ASYMMETRIC_ALGORITHMS, ...common };
}

/** A host to print in a URL: a wildcard address is reached on loopback; IPv6 goes in brackets. */
export function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
}
