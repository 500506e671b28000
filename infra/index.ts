export { getServices } from './get-services.ts';
export { cacheDir, dataDir, runDir } from './cache-dir.ts';
export * from './services.ts';
export { ENDPOINT_SETTINGS } from './env-provider.ts';
export { IMAGES } from './testcontainers-provider.ts';
export {
  ensureKafkaClasspath,
  ensureQdrantEdgeVenv,
  ensureRedisServer,
  listEntries,
  isAlive,
  reapOrphans,
  stopProcess,
  startKafka,
  startKafkaCluster,
  startQdrant,
  startRedis,
  type KafkaClusterNode,
  type LocalKafkaCluster,
  type ProcessEntry,
} from './local/index.ts';
export { createKafka, createRedis, kafkaConnection, redisConnection } from '../topology/connections/clients.ts';
export { createQdrant } from '../topology/connections/qdrant-client.ts';
export { CONNECTION_SETTINGS, SECRET_SETTINGS, endpointEnv, kafkaSettings, qdrantSettings, redactUrl, redisSettings } from '../topology/connections/connection-settings.ts';
export { isWithin } from '../topology/path-within.ts';
