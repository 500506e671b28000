export * from './endpoints.ts';
export { createKafka, createRedis, kafkaConnection, redisConnection, tlsOptions } from './clients.ts';
export { createQdrant } from './qdrant-client.ts';
export { CONNECTION_SETTINGS, KAFKA_SECURITY_PROTOCOLS, SECRET_SETTINGS, endpointEnv, kafkaSettings, qdrantSettings, redactUrl, redisSettings } from './connection-settings.ts';
export { reportRedisErrors } from './redis-errors.ts';
