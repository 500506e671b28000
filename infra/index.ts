export { getServices } from './get-services.ts';
export { cacheDir } from './cache-dir.ts';
export * from './services.ts';
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
  type LocalKafkaCluster,
  type ProcessEntry,
} from './local/index.ts';
export {
  createKafka,
  createRedis,
  SECRET_SETTINGS,
  endpointEnv,
  kafkaSettings,
  qdrantSettings,
  redactUrl,
  redisSettings,
  isWithin,
} from '../topology/index.ts';
