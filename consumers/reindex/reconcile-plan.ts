import { leaseLapsed, type WriteFence } from '../runtime/index.ts';

// The decisions of start-up reconciliation, apart from the stores they act on.

export interface FenceFacts {
  fence: WriteFence;
  /** Redis server time, to judge the lease by. */
  nowMs: number;
  /** The collection still exists in Qdrant. */
  exists: boolean;
  /** An alias points at the collection: live encoders write it. */
  served: boolean;
  /** A queued, delayed or running rebuild job owns the collection (it is the job's target). */
  ownerLive: boolean;
}

/**
 * - `keep`: an open fence, or a rebuild whose lease runs, or whose job will resume and re-acquire;
 * - `reopen`: live encoders write it, and the rebuild holding it is over or its lease lapsed;
 * - `discard`: a partial target that no job will resume;
 * - `remove`: a fence left behind by a dropped collection.
 */
export type FenceAction = 'keep' | 'reopen' | 'discard' | 'remove';

export function planFence(facts: FenceFacts): FenceAction {
  const { fence, exists, served, ownerLive } = facts;
  if (!exists) return ownerLive ? 'keep' : 'remove';
  if (fence.state === 'open') return 'keep';
  const lapsed = leaseLapsed(fence, facts.nowMs);
  if (served) return ownerLive && !lapsed ? 'keep' : 'reopen';
  // Not served yet: no live encoder waits on it; a live job takes it up again when it resumes.
  return ownerLive ? 'keep' : 'discard';
}

export interface CollectionFacts {
  name: string;
  /** Parsed from `<alias>__<model>__v<n>`; null for a name searchbus did not make. */
  alias: string | null;
  /** This namespace's alias. */
  ownAlias: string;
  served: boolean;
  /** The target of a live rebuild job. */
  owned: boolean;
  /** Named by a pending drop-collection job: a previous collection inside its grace period. */
  dropPending: boolean;
}

/** A collection of this alias that nothing serves, owns or is about to drop is a partial rebuild. */
export function isPartialCollection(facts: CollectionFacts): boolean {
  return facts.alias === facts.ownAlias && !facts.served && !facts.owned && !facts.dropPending;
}

/** A rebuild group (`<ns>.reindex.<collection>`) that no live job owns. */
export function isOrphanGroup(groupId: string, reindexGroupPrefix: string, ownedGroups: ReadonlySet<string>): boolean {
  return groupId.startsWith(reindexGroupPrefix) && !ownedGroups.has(groupId);
}
