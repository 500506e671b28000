import type { ShadowStats } from '../quality/index.ts';
import type { UnwrittenRecord } from './document-loss.ts';
import type { GateReport, GateRequest } from './quality-gate.ts';
import type { RebuildPhase } from './rebuild/transitions.ts';

/** Shadow comparison while the rebuild tails the topic: a sample of live requests also searched on the target. */
export interface ShadowRequest {
  /** Share of live requests mirrored, in [0, 1]; 0 turns mirroring off. */
  rate: number;
  /** After catching up, keep tailing (and mirroring) at most this long before the gate and the swap. */
  holdMs: number;
  /** ...or until this many requests were compared (0: the whole holdMs). */
  minSamples: number;
}

/** A request to rebuild the index behind an alias with a model (and, later, other settings). */
export interface ReindexRequest {
  modelId: string;
  /** Rebuild even though retention removed part of the ingest topic's history. */
  allowIncompleteHistory?: boolean;
  /** Overrides SEARCHBUS_REINDEX_GRACE_MS for this rebuild. */
  graceMs?: number;
  /** Judged queries that must not get worse (nDCG@10 by more than a margin) before the swap. */
  gate?: GateRequest;
  shadow?: ShadowRequest;
}

/** Written into the job as soon as the target exists, so a retried or resumed job continues it. */
export interface RebuildState {
  target: string;
  groupId: string;
  /** Offsets to replay at the start: the high watermarks when the rebuild began. */
  endOffsetsAtStart: Record<string, string>;
  startedAt: string;
  /**
   * The phase the job is in (rebuild/transitions.ts): a resumed job re-enters there, or earlier
   * where what the phase needs died with the last worker. Written before the phase starts.
   */
  phase: RebuildPhase;
  /** The collection the alias served when the replay caught up: compared with, and dropped after the grace period once swapped. */
  previous: string | null;
  /** The gate's verdict once it ran: a resumed job does not run it again. */
  gate?: GateReport;
  /** Documents the replay dead-lettered (e.g. a claim-check uri gone), checked against the live collection before the swap. */
  unwritten?: UnwrittenRecord;
}

export type ReindexJobData = ReindexRequest & { alias: string; state?: RebuildState };

export type ReindexPhase = 'replaying' | 'shadowing' | 'gating' | 'swapping' | 'draining' | 'done';

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
  /** Live requests mirrored to the target and how their answers compare (while it tails the topic). */
  shadow?: ShadowStats | null;
  gate?: GateReport | null;
}

export interface ReindexResult {
  /** `refused-by-gate`: the alias was not swapped; the target is kept until `dropTargetAt`. */
  outcome: 'swapped' | 'refused-by-gate';
  alias: string;
  target: string;
  previous: string | null;
  modelId: string;
  points: number;
  seconds: number;
  dropPreviousAt: string | null;
  gate?: GateReport | null;
  /** The gate refused and the swap went ahead anyway (--force). */
  forced?: boolean;
  dropTargetAt?: string;
  shadow?: ShadowStats | null;
  /** Documents the replay dead-lettered (none of them served by the previous collection, or the swap was refused). */
  unwritten?: number;
}

export const JOB_NAMES = { rebuild: 'rebuild', dropCollection: 'drop-collection' } as const;

export interface DropCollectionJobData {
  collection: string;
  alias: string;
}
