/** A partition's answer to a produce request, as kafkajs' send() returns it. */
export interface PartitionAck {
  partition: number;
  errorCode: number;
}

/**
 * The messages of a send that no partition acknowledged. kafkajs (2.2.4) can resolve a send that
 * spans several partition leaders without writing every message: when one leader dies, the retry
 * skips any broker that already answered for other partitions, even if it has just become the
 * leader of the dead one's partition. Its answer then lists no result for that partition, and
 * this finds the messages that were routed there, to be sent again.
 */
export function unacknowledged<M>(
  messages: readonly M[],
  partitionOf: (message: M) => number | undefined,
  acks: readonly PartitionAck[],
): M[] {
  const acknowledged = new Set(acks.filter((a) => a.errorCode === 0).map((a) => a.partition));
  return messages.filter((m) => {
    const partition = partitionOf(m);
    // A message whose partition is unknown is sent again: a duplicate record is harmless, a lost one is not.
    return partition === undefined || !acknowledged.has(partition);
  });
}
