import type { Kafka } from 'kafkajs';

/** The slice of kafkajs' internal cluster client this uses. */
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(request: {
    groupId: string;
  }): Promise<{ leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown> }>;
}

const CREATE_CLUSTER = 'private:Kafka:createCluster';

/**
 * Removes members of a consumer group at once, as if each had left it: a LeaveGroup request, sent
 * for them to the group's coordinator. For members known to be dead (their process is gone), whose
 * partitions would otherwise wait out their session timeout.
 *
 * kafkajs has no call for it (Java's Admin.removeMembersFromConsumerGroup covers only static
 * members, which kafkajs does not support), so this builds kafkajs' own cluster client through its
 * private factory. kafkajs is pinned at 2.2.4, which has had no release since 2023; if the factory
 * is not found, nothing is evicted and the members leave at their session timeout as before.
 * Resolves with the members the coordinator removed (an unknown member has left already).
 */
export async function evictGroupMembers(kafka: Kafka, groupId: string, memberIds: readonly string[]): Promise<string[]> {
  if (memberIds.length === 0) return [];
  const cluster = internalCluster(kafka);
  if (!cluster) return [];
  await cluster.connect();
  try {
    const coordinator = await cluster.findGroupCoordinator({ groupId });
    const removed: string[] = [];
    for (const memberId of memberIds) {
      try {
        await coordinator.leaveGroup({ groupId, memberId });
        removed.push(memberId);
      } catch (error) {
        if ((error as { type?: string }).type !== 'UNKNOWN_MEMBER_ID') throw error;
      }
    }
    return removed;
  } finally {
    await cluster.disconnect();
  }
}

function internalCluster(kafka: Kafka): InternalCluster | undefined {
  const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === CREATE_CLUSTER);
  if (!key) return undefined;
  const create = (kafka as unknown as Record<symbol, unknown>)[key];
  if (typeof create !== 'function') return undefined;
  return (create as (options: object) => InternalCluster)({ allowAutoTopicCreation: false });
}
