import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Admin, Kafka } from 'kafkajs';
import type { SearchbusConfig, Topology } from '../../../topology/index.ts';
import type { DocumentEncoder, MediaEncoder } from '../../embedding/index.ts';
import type { EvalSetStore, ShadowBoard } from '../../quality/index.ts';
import type { Logger, MetricsRegistry, RedisWriteFences } from '../../runtime/index.ts';
import type { GateDependencies } from '../quality-gate.ts';
import type { RebuildState, ReindexProgress } from '../reindex-types.ts';

/** What the reindex worker gives a rebuild: its clients, its job's hooks, and where it reports. */
export interface RebuildContext {
  kafka: Kafka;
  admin: Admin;
  qdrant: QdrantClient;
  topology: Topology;
  config: SearchbusConfig;
  fences: Pick<RedisWriteFences, 'get' | 'acquire' | 'renew' | 'holds' | 'reopen' | 'remove'>;
  /** Returns a collection version for `alias`, at least `atLeast`, never returned before. */
  reserveVersion(alias: string, atLeast: number): Promise<number>;
  /** The job's id and this attempt's unique owner name (its BullMQ lock token) for fence leases. */
  jobId: string;
  leaseOwner: string;
  encoder: (modelId: string) => Promise<DocumentEncoder>;
  /** Re-reads and re-embeds every replayed medium (claim-check uris included) into the target's media vectors. */
  media: MediaEncoder;
  logger: Logger;
  metrics?: MetricsRegistry;
  /** Aborted when the worker closes: leave everything for a resume. */
  signal: AbortSignal;
  isCancelled(): Promise<boolean>;
  saveState(state: RebuildState): Promise<void>;
  progress(progress: ReindexProgress): Promise<void>;
  log(line: string): Promise<void>;
  scheduleDrop(collection: string, delayMs: number): Promise<void>;
  /** Where registered evaluation sets live, and how the gate searches (the query path). */
  gate?: { evalSets: Pick<EvalSetStore, 'get'>; deps: Omit<GateDependencies, 'signal'> };
  /** Where the target is announced to query consumers for shadow comparison. */
  shadow?: Pick<ShadowBoard, 'announce' | 'withdraw' | 'stats'>;
}
