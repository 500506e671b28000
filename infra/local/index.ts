export { startKafka, ensureKafkaClasspath } from './kafka-process.ts';
export { startRedis, ensureRedisServer } from './redis-process.ts';
export { startQdrant, ensureQdrantEdgeVenv } from './qdrant-process.ts';
export { listEntries, ownerAlive, isAlive, type ProcessEntry } from './process-registry.ts';
export { stopProcess } from './spawn-service.ts';
export { reapOrphans, findRunning } from './reaper.ts';
