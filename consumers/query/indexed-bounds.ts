import type { IndexedBounds } from '../../topology/index.ts';
import { rewindPending, type WriteFence } from '../runtime/index.ts';

/** A consumer group of the ingest topic as read from Kafka: its committed offsets, and whether it has members. */
export interface GroupOffsets {
  groupId: string;
  /** Partition -> committed offset (the next one it reads); partitions it never committed are absent. */
  committed: ReadonlyMap<number, bigint>;
  /** Members in the group right now (a group that exists but has not committed yet). */
  active: boolean;
}

/**
 * Per partition, the offset below which every record of the ingest topic is in `collection`, from
 * facts that only grow: offsets a group committed after Qdrant acknowledged the writes, and the
 * collection's write fence (consumers/runtime/write-fence.ts).
 *
 * - Fence closed (a rebuild is filling it or handing it over): only the rebuild group writes it, so
 *   its committed offsets are the bounds. Live groups may be further on, in the previous collection.
 * - Open, or no fence: the live groups (text and media, or one for all) each skip what the other
 *   applies, so a record is in only once every live group has committed past it: the smallest of
 *   their offsets. A group that neither committed nor has members is not running and is left out;
 *   with none left, nothing is covered. Records before the fence's offsets were applied by the
 *   rebuild (which drained the topic after the last live write to the previous collection).
 * - Open with a rewind pending on a partition (a dead rebuild was taken over): live groups may have
 *   committed past messages they wrote to the previous collection and have yet to write again here,
 *   so a group's offset counts only up to the rewind offset, where the rebuild group stopped, until
 *   that group's own rewind is over (text and media groups rewind each on their own: one group done
 *   says nothing of the other's records).
 */
export function indexedBounds(
  fence: WriteFence | null,
  live: readonly GroupOffsets[],
  rebuild: (groupId: string) => GroupOffsets | undefined,
): IndexedBounds {
  if (fence?.state === 'closed') return rebuild(fence.lease?.groupId ?? '')?.committed ?? new Map();
  const running = live.filter((g) => g.active || g.committed.size > 0);
  const bounds = new Map<number, bigint>();
  const first = running[0];
  if (!first) return bounds;
  const partitions = new Set(running.flatMap((g) => [...g.committed.keys()]));
  for (const partition of partitions) {
    let bound: bigint | undefined;
    for (const group of running) {
      let at = group.committed.get(partition) ?? 0n;
      const rewind = rewindPending(fence, group.groupId, partition);
      if (rewind !== undefined && BigInt(rewind) < at) at = BigInt(rewind);
      bound = bound === undefined || at < bound ? at : bound;
    }
    bounds.set(partition, bound!);
  }
  return bounds;
}
