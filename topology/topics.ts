import type { SearchbusConfig } from './config.ts';
import type { Topology } from './names.ts';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  /** null: the broker's default.replication.factor. */
  replicationFactor: number | null;
  configs: Record<string, string>;
}

/**
 * The ingest topic is compacted: it keeps the latest version of every document forever, which is
 * what a rebuild replays. Tombstones stay for `deleteRetentionMs` so that a consumer (or rebuild)
 * that is behind still sees the delete. Requests are ephemeral; dead letters are kept a month.
 */
export function topicSpecs(topology: Topology, config: SearchbusConfig): TopicSpec[] {
  const { replicationFactor, minInsyncReplicas } = config.topics;
  // With acks=all (every searchbus producer), a write is acknowledged once this many replicas hold it.
  const durability: Record<string, string> = minInsyncReplicas === null ? {} : { 'min.insync.replicas': String(minInsyncReplicas) };
  const specs: Array<Omit<TopicSpec, 'replicationFactor'>> = [
    {
      topic: topology.topics.ingest,
      numPartitions: config.ingest.partitions,
      configs: {
        'cleanup.policy': 'compact',
        'delete.retention.ms': String(config.ingest.deleteRetentionMs),
        'min.compaction.lag.ms': '0',
        'max.message.bytes': String(2 * 1024 * 1024),
      },
    },
    {
      topic: topology.topics.deadLetter,
      numPartitions: 1,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': String(30 * 24 * 3600 * 1000), 'max.message.bytes': String(2 * 1024 * 1024) },
    },
    {
      topic: topology.topics.searchRequests,
      numPartitions: 3,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': String(3600 * 1000) },
    },
  ];
  return specs.map((s) => ({ ...s, replicationFactor, configs: { ...s.configs, ...durability } }));
}
