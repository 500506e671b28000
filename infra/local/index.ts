export { startKafka, ensureKafkaClasspath } from './kafka-process.ts';
export { startKafkaCluster, type KafkaClusterNode, type KafkaClusterOptions, type LocalKafkaCluster } from './kafka-cluster.ts';
export { startRedis, ensureRedisServer } from './redis-process.ts';
export { startQdrant, ensureQdrantEdgeVenv } from './qdrant-process.ts';
export { listEntries, ownerAlive, isAlive, type ProcessEntry } from './process-registry.ts';
export { stopProcess } from './spawn-service.ts';
export { reapOrphans, findRunning } from './reaper.ts';
