export { getServices } from './get-services.ts';
export { cacheDir, dataDir, runDir } from './cache-dir.ts';
export * from './errors.ts';
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
export { createKafka, createRedis, kafkaConnection, redisConnection } from '../topology/index.ts';
export { createQdrant } from '../topology/index.ts';
export { CONNECTION_SETTINGS, SECRET_SETTINGS, endpointEnv, kafkaSettings, qdrantSettings, redactUrl, redisSettings } from '../topology/index.ts';
export { isWithin } from '../topology/index.ts';
