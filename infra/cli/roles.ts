import type { OnnxEncoder } from '../../consumers/embedding/index.ts';
import { documentEncoder, mediaEncoderSettings, type MediaEncoder } from '../../consumers/embedding/index.ts';
import { cachedMediaEncoder, encoderCache } from '../models/index.ts';
import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { QueryConsumer, queryEncoder } from '../../consumers/query/index.ts';
import { ReindexWorker } from '../../consumers/reindex/index.ts';
import { WatchMatcher, WatchRegistry } from '../../consumers/watch/index.ts';
import { WatchClient } from '../../producers/watch-client/index.ts';
import { MetricsRegistry, RedisWriteFences, jsonLogger, type Logger } from '../../consumers/runtime/index.ts';
import { displayHost, startGatewayService } from '../gateway/index.ts';
import type { Redis } from 'ioredis';
import { createKafka, createRedis, type Services } from '../index.ts';
import { createQdrant } from '../../topology/connections/qdrant-client.ts';
import {
  closeAll,
  closeOnce,
  nextReady,
  quitGracefully,
  StartDeadline,
  type SearchbusConfig,
  type Topology,
} from '../../topology/index.ts';

import type { RoleName } from './role-names.ts';

export { ROLE_NAMES, type RoleName } from './role-names.ts';

export interface RoleContext {
  services: Services;
  config: SearchbusConfig;
  topology: Topology;
  metrics: MetricsRegistry;
  logger: (component: string) => Logger;
  /** Tells the user where a role can be reached. */
  announce(line: string): void;
  /** One loaded model per id, shared by the roles of a process. */
  encoder(modelId: string): Promise<OnnxEncoder>;
  /** The image and audio models, loaded on first use, shared by the roles of a process. */
  media: MediaEncoder;
}

export interface RunningRole {
  name: RoleName;
  ready(): boolean;
  /** Closes the role's unit and its connections; every step runs even when one throws. Idempotent. */
  close(): Promise<void>;
}

export async function startRole(name: RoleName, context: RoleContext): Promise<RunningRole> {
  switch (name) {
    case 'encoder': {
      const { config, topology, services } = context;
      // Warm the configured model; the consumer loads whichever model the alias' collection needs.
      await context.encoder(config.model.id);
      return withRedis(name, context, (redis) => {
        // Two groups on the ingest topic: text documents never wait behind an image or a recording
        // being decoded and embedded (README "Media ingest": throughput of each).
        const [text, media] = (['text', 'media'] as const).map(
          (modality) =>
            new EncoderConsumer({
              kafka: createKafka(services.kafka, modality === 'text' ? 'searchbus-encoder' : 'searchbus-encoder-media'),
              qdrant: createQdrant(services.qdrant),
              topology,
              config,
              encoder: async (modelId) => documentEncoder(await context.encoder(modelId)),
              modality,
              media: context.media,
              fences: new RedisWriteFences(redis, topology),
              logger: context.logger(modality === 'text' ? 'encoder' : 'encoder-media'),
              metrics: context.metrics,
            }),
        ) as [EncoderConsumer, EncoderConsumer];
        const unit = {
          start: async () => {
            await text.start();
            try {
              await media.start();
            } catch (error) {
              await text.close().catch(() => undefined);
              throw error;
            }
          },
          close: () =>
            closeAll('the encoder groups', [
              { name: 'close the text encoder', run: () => text.close() },
              { name: 'close the media encoder', run: () => media.close() },
            ]),
        };
        return { unit, ready: () => [text, media].every((c) => c.state === 'running' && !c.stalled) };
      });
    }
    case 'query': {
      const { config, topology, services } = context;
      return withRedis(name, context, (redis) => {
        const consumer = new QueryConsumer({
          kafka: createKafka(services.kafka, 'searchbus-query'),
          qdrant: createQdrant(services.qdrant),
          redis,
          topology,
          config,
          // The model of the collection behind the alias, which may differ from SEARCHBUS_MODEL mid-rebuild.
          encoder: async (modelId) => queryEncoder(await context.encoder(modelId)),
          media: context.media,
          logger: context.logger('query'),
          metrics: context.metrics,
        });
        return { unit: consumer, ready: () => consumer.state === 'running' };
      });
    }
    case 'reindex': {
      const { config, topology, services } = context;
      return withRedis(name, context, (redis) => {
        const worker = new ReindexWorker({
          connection: redis,
          redis,
          kafka: createKafka(services.kafka, 'searchbus-reindex'),
          qdrant: createQdrant(services.qdrant),
          topology,
          config,
          encoder: async (modelId) => documentEncoder(await context.encoder(modelId)),
          media: context.media,
          queryEncoder: async (modelId) => queryEncoder(await context.encoder(modelId)),
          logger: context.logger('reindex'),
          metrics: context.metrics,
        });
        return { unit: worker, ready: () => worker.state === 'running' };
      });
    }
    case 'watch': {
      const { config, topology, services } = context;
      return withRedis(name, context, (redis) => {
        const matcher = new WatchMatcher({
          kafka: createKafka(services.kafka, 'searchbus-watch'),
          qdrant: createQdrant(services.qdrant),
          redis,
          topology,
          config,
          embedQueries: queryEmbedder(context),
          media: context.media,
          logger: context.logger('watch'),
          metrics: context.metrics,
        });
        return { unit: matcher, ready: () => matcher.state === 'running' && !matcher.stalled };
      });
    }
    case 'gateway': {
      const { config, topology, services } = context;
      const registry = new WatchRegistry({
        qdrant: createQdrant(services.qdrant),
        topology,
        config,
        embedQueries: queryEmbedder(context),
        media: context.media,
      });
      const gateway = await startGatewayService({
        watches: new WatchClient({ kafka: createKafka(services.kafka, 'searchbus-gateway-watches'), topology, registry }),
        kafka: createKafka(services.kafka, 'searchbus-gateway'),
        redis: createRedis(services.redis, 'searchbus-gateway'),
        topology,
        config,
        logger: context.logger('gateway'),
      });
      context.announce(
        `gateway: http://${displayHost(config.gateway.host)}:${gateway.port}/search?q=… (${gateway.auth}); search page: http://${displayHost(config.gateway.host)}:${gateway.port}/`,
      );
      // Ready while Kafka answers and the reply subscription on Redis is up.
      return { name, ready: () => gateway.ready(), close: () => gateway.close() };
    }
  }
}

/** Embeds texts as queries with a model of the process's cache (watches are embedded as searches are). */
export function queryEmbedder(
  context: Pick<RoleContext, 'encoder'>,
): (modelId: string) => Promise<(texts: string[]) => Promise<Float32Array[]>> {
  return async (modelId) => {
    const encoder = queryEncoder(await context.encoder(modelId));
    return (texts) => encoder.embedQueries(texts);
  };
}

/**
 * A role whose unit needs a Redis connection of its own. Starting has two steps, both within
 * SEARCHBUS_START_TIMEOUT_MS: start the unit (Kafka), then wait for Redis. If either fails,
 * everything opened so far (the unit's Kafka connections, Redis) is closed before the error is
 * rethrown; closing runs every step even when one throws.
 */
async function withRedis(
  name: RoleName,
  context: RoleContext,
  make: (redis: Redis) => { unit: { start(): Promise<void>; close(): Promise<void> }; ready: () => boolean },
): Promise<RunningRole> {
  const redis = createRedis(context.services.redis, `searchbus-${name}`);
  let lastRedisError = '';
  redis.on('error', (error: Error) => (lastRedisError = error.message));
  const { unit, ready } = make(redis);
  const close = closeOnce(() =>
    closeAll(`the ${name} role`, [
      { name: `close the ${name}`, run: () => unit.close() },
      { name: 'close its Redis connection', run: () => quitGracefully(redis) },
    ]),
  );
  const deadline = new StartDeadline(`the ${name} role`, context.config.startTimeoutMs);
  try {
    await unit.start();
    await deadline.step(
      'connect to Redis',
      () => redisReady(redis),
      () => `check that Redis answers at REDIS_URL${lastRedisError ? ` (last error: ${lastRedisError})` : ''}`,
    );
  } catch (error) {
    await close().catch((cleanup: unknown) => context.logger(name).error('closing after a failed start failed', { error: cleanup }));
    throw error;
  }
  return { name, ready: () => ready() && redis.status === 'ready', close };
}

function redisReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return nextReady(redis, () => new Error('the Redis connection was closed'));
}

export function createRoleContext(
  services: Services,
  config: SearchbusConfig,
  topology: Topology,
  log: (line: string) => void,
): RoleContext & { close(): Promise<void> } {
  const encoders = encoderCache(config, log);
  const media = cachedMediaEncoder({
    ...mediaEncoderSettings(config.media),
    ...(config.encoder.intraOpThreads ? { intraOpNumThreads: config.encoder.intraOpThreads } : {}),
    log,
  });
  return {
    media,
    services,
    config,
    topology,
    metrics: new MetricsRegistry({ defaultMetrics: true }),
    announce: log,
    logger: (component) => jsonLogger(component),
    encoder: (modelId) => encoders.get(modelId),
    /** Closes the models loaded so far. Idempotent. */
    close: closeOnce(() =>
      closeAll('the models', [
        { name: 'close the text models', run: () => encoders.close() },
        { name: 'close the media models', run: () => media.close() },
      ]),
    ),
  };
}
