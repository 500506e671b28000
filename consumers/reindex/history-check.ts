import kafkajs, { type Admin } from 'kafkajs';

// kafkajs is CommonJS; Node's ESM loader cannot see these exports by name.
const { ConfigResourceTypes } = kafkajs;

export interface HistoryReport {
  complete: boolean;
  cleanupPolicy: string;
  partitions: Array<{ partition: number; low: string; high: string }>;
  /** Why the topic may no longer hold every document, with numbers. */
  problems: string[];
}

/**
 * A rebuild replays the ingest topic, so it is only complete if the topic still holds the latest
 * version of every document: compaction alone keeps that; retention (`delete` in the cleanup
 * policy, or records deleted below a log start offset) does not.
 */
export async function checkHistory(admin: Admin, topic: string): Promise<HistoryReport> {
  const [offsets, configs] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }],
    }),
  ]);
  const cleanupPolicy = configs.resources[0]?.configEntries.find((c) => c.configName === 'cleanup.policy')?.configValue ?? 'unknown';
  const partitions = offsets.map((o) => ({ partition: o.partition, low: o.low, high: o.high })).sort((a, b) => a.partition - b.partition);
  const problems: string[] = [];
  if (
    cleanupPolicy
      .split(',')
      .map((p) => p.trim())
      .includes('delete') ||
    !cleanupPolicy.includes('compact')
  ) {
    problems.push(
      `topic ${topic} has cleanup.policy=${cleanupPolicy}: retention deletes documents that were never updated; only cleanup.policy=compact keeps every document`,
    );
  }
  for (const p of partitions) {
    if (BigInt(p.low) > 0n) {
      problems.push(
        `partition ${p.partition} starts at offset ${p.low}: ${p.low} earlier records were removed by retention (offsets ${p.low}..${p.high} remain)`,
      );
    }
  }
  return { complete: problems.length === 0, cleanupPolicy, partitions, problems };
}
