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
 * The index change feed and the matches are events, not state: deleted after
 * SEARCHBUS_FEED_RETENTION_MS (a week by default, room for a consumer to be down over a weekend).
 * The feed has as many partitions as the ingest topic and the same key, so a document's events
 * stay in order and a feed consumer scales like the encoders.
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
    {
      topic: topology.topics.indexed,
      numPartitions: config.ingest.partitions,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': String(config.watches.feedRetentionMs) },
    },
    {
      topic: topology.topics.matches,
      numPartitions: config.ingest.partitions,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': String(config.watches.feedRetentionMs) },
    },
  ];
  return specs.map((s) => ({ ...s, replicationFactor, configs: { ...s.configs, ...durability } }));
}
