import type { Admin } from 'kafkajs';

export interface PartitionPosition {
  partition: number;
  /** First offset still in the log. */
  low: bigint;
  /** Next offset to be written. */
  high: bigint;
  /** Next offset the group will read: its committed offset, or `low` if it has none (or one below it). */
  at: bigint;
}

/** Where a consumer group stands on each partition of a topic, and how far behind it is in all. */
export async function groupPosition(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<{ partitions: PartitionPosition[]; lag: number }> {
  const [ends, offsets] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const committed = new Map((offsets[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  const partitions = ends.map((end) => {
    const low = BigInt(end.low);
    const done = committed.get(end.partition) ?? -1n;
    return { partition: end.partition, low, high: BigInt(end.high), at: done < low ? low : done };
  });
  return { partitions, lag: partitions.reduce((sum, p) => sum + Number(p.high - p.at), 0) };
}

/**
 * Where live encoders take a collection over from its rebuild group: the next offset the group
 * would read on each partition (its committed offset, or the log start where it has none).
 */
export async function handoverOffsets(admin: Admin, groupId: string, topic: string): Promise<Record<string, string>> {
  const { partitions } = await groupPosition(admin, groupId, topic);
  return Object.fromEntries(partitions.map((p) => [String(p.partition), p.at.toString()]));
}
