import type { OnnxEncoder } from '../../consumers/encoders/index.ts';
import { documentEncoder, loadEncoder } from '../../consumers/encoders/index.ts';
import { EncoderConsumer } from '../../consumers/encoder/index.ts';
import { QueryConsumer, queryEncoder } from '../../consumers/query/index.ts';
import { MetricsRegistry, jsonLogger, type Logger } from '../../consumers/runtime/index.ts';
import { createKafka, createQdrant, createRedis, type Services } from '../../infra/index.ts';
import { getModelSpec, type SearchbusConfig, type Topology } from '../../topology/index.ts';

export const ROLE_NAMES = ['encoder', 'query'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export interface RoleContext {
  services: Services;
  config: SearchbusConfig;
  topology: Topology;
  metrics: MetricsRegistry;
  logger: (component: string) => Logger;
  /** One loaded model per id, shared by the roles of a process. */
  encoder(modelId: string): Promise<OnnxEncoder>;
}

export interface RunningRole {
  name: RoleName;
  ready(): boolean;
  stop(): Promise<void>;
}

export function isRoleName(name: string): name is RoleName {
  return (ROLE_NAMES as readonly string[]).includes(name);
}

export async function startRole(name: RoleName, context: RoleContext): Promise<RunningRole> {
  switch (name) {
    case 'encoder': {
      const { config, topology, services } = context;
      const encoder = await context.encoder(config.model.id);
      const consumer = new EncoderConsumer({
        kafka: createKafka(services.kafka, 'searchbus-encoder'),
        qdrant: createQdrant(services.qdrant),
        topology,
        config,
        encoder: documentEncoder(encoder),
        logger: context.logger('encoder'),
        metrics: context.metrics,
      });
      await consumer.start();
      return { name, ready: () => consumer.state === 'running', stop: () => consumer.stop() };
    }
    case 'query': {
      const { config, topology, services } = context;
      const redis = createRedis(services.redis, 'searchbus-query');
      const consumer = new QueryConsumer({
        kafka: createKafka(services.kafka, 'searchbus-query'),
        qdrant: createQdrant(services.qdrant),
        redis,
        topology,
        config,
        // The model of the collection behind the alias, which may differ from SEARCHBUS_MODEL mid-rebuild.
        encoder: async (modelId) => queryEncoder(await context.encoder(modelId)),
        logger: context.logger('query'),
        metrics: context.metrics,
      });
      try {
        await consumer.start();
      } catch (error) {
        redis.disconnect();
        throw error;
      }
      return {
        name,
        ready: () => consumer.state === 'running' && redis.status === 'ready',
        stop: async () => {
          await consumer.stop();
          await redis.quit().catch(() => redis.disconnect());
        },
      };
    }
  }
}

export function createRoleContext(services: Services, config: SearchbusConfig, topology: Topology, log: (line: string) => void): RoleContext & { dispose(): Promise<void> } {
  const encoders = new Map<string, Promise<OnnxEncoder>>();
  return {
    services,
    config,
    topology,
    metrics: new MetricsRegistry(),
    logger: (component) => jsonLogger(component),
    encoder(modelId) {
      let loading = encoders.get(modelId);
      if (!loading) {
        loading = loadEncoder(getModelSpec(modelId), {
          intraOpThreads: config.encoder.intraOpThreads,
          overlapTokens: config.encoder.chunkOverlapTokens,
          log,
        });
        encoders.set(modelId, loading);
      }
      return loading;
    },
    async dispose() {
      await Promise.all([...encoders.values()].map(async (e) => (await e).dispose()));
    },
  };
}
