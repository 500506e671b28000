import { setTimeout as delay } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { isCovered, positionLag, type IndexedBounds, type ReadPosition, type Topology } from '../../topology/index.ts';
import type { WriteFences } from '../runtime/index.ts';
import { indexedBounds, type GroupOffsets } from './indexed-bounds.ts';

export type Coverage = { covered: true } | { covered: false; lag: Map<number, bigint> };

export interface IndexedPositionsOptions {
  /** A connected admin client (connected on first use by the caller). */
  admin: () => Promise<Admin>;
  fences: Pick<WriteFences, 'get'>;
  topology: Topology;
  /** How often a request not yet covered has the offsets read again while it waits. */
  pollMs: number;
  now?: () => number;
}

interface View {
  collection: string;
  bounds: IndexedBounds;
}

/**
 * What the query consumer knows of how far the index behind the alias is: the bounds of
 * indexed-bounds.ts for one collection, as last read. Every fact in it only grows (an offset
 * committed after Qdrant acknowledged, a fence's offsets), so a view stays true for its collection
 * however old it is: a request it covers is answered without asking anyone. Only a request it does
 * not cover makes it read Kafka (and the fence, in Redis) again, and concurrent readers share one read.
 */
export class IndexedPositions {
  private view: View | undefined;
  private reading: Promise<View> | undefined;
  /** Reads made so far (each: the fence, the groups' offsets and members); tests and metrics read it. */
  reads = 0;

  constructor(private readonly options: IndexedPositionsOptions) {}

  /** From the last view only, no I/O; null when it is about another collection (or there is none yet). */
  known(position: ReadPosition, collection: string): Coverage | null {
    const view = this.view;
    if (view?.collection !== collection) return null;
    return coverage(position, view.bounds);
  }

  /**
   * Resolves once `collection` holds `position`, or at `until` (epoch ms) with the lag then known.
   * Reads again at most every `pollMs` while waiting. Rejects when `signal` aborts.
   */
  async waitFor(position: ReadPosition, collection: string, until: number, signal: AbortSignal): Promise<Coverage> {
    const now = this.options.now ?? Date.now;
    for (;;) {
      const known = this.known(position, collection);
      if (known?.covered) return known;
      let fresh: Coverage;
      try {
        fresh = coverage(position, (await this.read(collection, signal)).bounds);
      } catch (error) {
        // Kafka or Redis did not answer: try again while there is time.
        if (signal.aborted || until - now() <= 0) throw error;
        await delay(Math.min(this.options.pollMs, until - now()), undefined, { signal });
        continue;
      }
      if (fresh.covered) return fresh;
      const left = until - now();
      if (left <= 0) return fresh;
      await delay(Math.min(this.options.pollMs, left), undefined, { signal });
    }
  }

  /** One read at a time; a caller arriving during a read of the same collection shares it. */
  private read(collection: string, signal: AbortSignal): Promise<View> {
    let reading = this.reading;
    if (!reading) {
      reading = this.readOnce(collection).finally(() => {
        if (this.reading === reading) this.reading = undefined;
      });
      this.reading = reading;
    }
    const shared = reading;
    return new Promise<View>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason as Error);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      shared
        .then(async (view) => (view.collection === collection ? view : this.read(collection, signal)))
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private async readOnce(collection: string): Promise<View> {
    const { topology } = this.options;
    const topic = topology.topics.ingest;
    this.reads += 1;
    // The fence first: a closed one names the group whose offsets describe the collection.
    const fence = await this.options.fences.get(collection);
    const admin = await this.options.admin();
    const offsetsOf = async (groupId: string): Promise<ReadonlyMap<number, bigint>> => {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map((entry?.partitions ?? []).filter((p) => BigInt(p.offset) >= 0n).map((p) => [p.partition, BigInt(p.offset)]));
    };
    let bounds: IndexedBounds;
    if (fence?.state === 'closed') {
      const groupId = fence.lease?.groupId || topology.groups.reindex(collection);
      const rebuild: GroupOffsets = { groupId, committed: await offsetsOf(groupId), active: true };
      bounds = indexedBounds(fence, [], () => rebuild);
    } else {
      const ids = [topology.groups.encoder, topology.groups.mediaEncoder];
      const [committed, described] = await Promise.all([Promise.all(ids.map(offsetsOf)), admin.describeGroups(ids)]);
      const live = ids.map((groupId, i) => ({
        groupId,
        committed: committed[i]!,
        active: described.groups.some((g) => g.groupId === groupId && g.members.length > 0),
      }));
      bounds = indexedBounds(fence, live, () => undefined);
    }
    // Reads run one at a time, so this one is the latest.
    const view = { collection, bounds };
    this.view = view;
    return view;
  }
}

function coverage(position: ReadPosition, bounds: IndexedBounds): Coverage {
  return isCovered(position, bounds) ? { covered: true } : { covered: false, lag: positionLag(position, bounds) };
}
