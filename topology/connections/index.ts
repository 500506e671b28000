// createQdrant is not here: it loads @qdrant/js-client-rest, and this index is loaded by everything that
// imports topology/index.ts (`searchbus search`'s cold start, the package entries). Its users import
// ./qdrant-client.ts by path (the import rules allow that one file; .dependency-cruiser.mjs).
export * from './endpoints.ts';
export { createKafka, createRedis, kafkaConnection, redisConnection, tlsOptions } from './clients.ts';
export {
  CONNECTION_SETTINGS,
  KAFKA_SECURITY_PROTOCOLS,
  SECRET_SETTINGS,
  endpointEnv,
  kafkaSettings,
  qdrantSettings,
  redactUrl,
  redisSettings,
} from './connection-settings.ts';
export { reportRedisErrors } from './redis-errors.ts';
