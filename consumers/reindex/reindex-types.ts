/** A request to rebuild the index behind an alias with a model (and, later, other settings). */
export interface ReindexRequest {
  modelId: string;
  /** Rebuild even though retention removed part of the ingest topic's history. */
  allowIncompleteHistory?: boolean;
  /** Overrides SEARCHBUS_REINDEX_GRACE_MS for this rebuild. */
  graceMs?: number;
}

/** Written into the job as soon as the target exists, so a retried or resumed job continues it. */
export interface RebuildState {
  target: string;
  groupId: string;
  /** Offsets to replay at the start: the high watermarks when the rebuild began. */
  endOffsetsAtStart: Record<string, string>;
  startedAt: string;
  /** `handover` once the alias was (about to be) swapped: a resumed job finishes the hand-over. */
  phase: 'replaying' | 'handover';
  /** The collection the alias served before; dropped after the grace period. */
  previous: string | null;
}

export type ReindexJobData = ReindexRequest & { alias: string; state?: RebuildState };

export type ReindexPhase = 'replaying' | 'swapping' | 'draining' | 'done';

export interface ReindexProgress {
  phase: ReindexPhase;
  target: string;
  /** Offsets of the ingest topic replayed into the target, of `total` present at the start. */
  processed: number;
  total: number;
  /** Messages behind the end of the topic now (live updates included). */
  lag: number;
  /** Ingest messages (document versions and deletes) applied per second. */
  messagesPerSecond: number;
  etaSeconds: number | null;
}

export interface ReindexResult {
  alias: string;
  target: string;
  previous: string | null;
  modelId: string;
  points: number;
  seconds: number;
  dropPreviousAt: string | null;
}

export const JOB_NAMES = { rebuild: 'rebuild', dropCollection: 'drop-collection' } as const;

export interface DropCollectionJobData {
  collection: string;
  alias: string;
}
