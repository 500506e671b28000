import { setTimeout as delay } from 'node:timers/promises';
import { CancelledError, getModelSpec, RejectedError, UnavailableError, type ModelSpec } from '../../../topology/index.ts';
import { EncoderConsumer } from '../../encoder/index.ts';
import type { ShadowStats } from '../../quality/index.ts';
import type { DeadLetter } from '../../runtime/index.ts';
import { recordUnwritten, unwrittenDocument } from '../document-loss.ts';
import { LeaseKeeper, writeMarginMs } from '../fence-lease.ts';
import { checkHistory, type HistoryReport } from '../history-check.ts';
import type { RebuildState, ReindexJobData, ReindexResult } from '../reindex-types.ts';
import type { RebuildContext } from './context.ts';
import { isFenced, type RebuildPhase, type Successor } from './transitions.ts';

/** One attempt at a rebuild job, before it knows its target (a new job has none yet). */
export interface RebuildAttempt {
  readonly data: ReindexJobData;
  readonly context: RebuildContext;
  readonly model: ModelSpec;
  readonly topic: string;
  /** The ingest topic as this attempt found it: its log start offsets are what `total` counts from. */
  readonly history: HistoryReport;
  /** A result's `seconds` count this attempt only. */
  readonly startedMs: number;
}

/** What the phases of one attempt share once the target is known. */
export interface RebuildRun extends RebuildAttempt {
  /** As last persisted; the next save writes it with its changes. */
  state: RebuildState;
  readonly target: string;
  readonly groupId: string;
  /** Ingest offsets present when the rebuild began: what `processed` counts towards. */
  readonly total: number;
  /** The rebuild's consumer group, started once: by the replay, or by the hand-over once it holds the fence. */
  readonly group: EncoderConsumer;
  consuming: boolean;
  readonly keeper: LeaseKeeper;
  /** Set by the hand-over: this attempt holds the fence lease (what a stop hands back to live encoders). */
  leaseHeld: boolean;
  readonly shadow: ShadowSession;
  /** The replay's recent speed, for the ETA. */
  readonly rate: { at: number; processed: number; perSecond: number };
}

/** Live searches mirrored to the target, announced with a TTL this attempt renews. */
export interface ShadowSession {
  active: boolean;
  renew: NodeJS.Timeout | undefined;
  stats: ShadowStats | null;
}

export type StatePatch = Partial<Omit<RebuildState, 'phase'>>;

/**
 * What a phase hands the driver: the phase to persist and run next (with what else to persist),
 * or the end of the rebuild with its result. A phase that fails throws instead.
 */
export type PhaseOutcome<P extends RebuildPhase = RebuildPhase> =
  | { next: Extract<Successor<P>, RebuildPhase>; patch?: StatePatch }
  | { next: Extract<Successor<P>, 'done' | 'refused'>; result: ReindexResult };

/** Refuses an unknown model, and reads the topic's history, on every attempt. */
export async function openAttempt(data: ReindexJobData, context: RebuildContext): Promise<RebuildAttempt> {
  const startedMs = Date.now();
  let model: ModelSpec;
  try {
    model = getModelSpec(data.modelId);
  } catch (error) {
    throw new RejectedError('rebuild-refused', (error as Error).message, { cause: error });
  }
  const topic = context.topology.topics.ingest;
  const history = await checkHistory(context.admin, topic);
  return { data, context, model, topic, history, startedMs };
}

/** Builds what the phases share; nothing is started (closeRun closes whatever was). */
export function openRun(attempt: RebuildAttempt, state: RebuildState): RebuildRun {
  const { context } = attempt;
  const { target, groupId, endOffsetsAtStart } = state;
  const low = new Map(attempt.history.partitions.map((p) => [String(p.partition), BigInt(p.low)]));
  const total = Object.entries(endOffsetsAtStart).reduce((sum, [p, high]) => sum + Number(BigInt(high) - (low.get(p) ?? 0n)), 0);
  const run: RebuildRun = {
    ...attempt,
    state,
    target,
    groupId,
    total,
    group: new EncoderConsumer({
      kafka: context.kafka,
      qdrant: context.qdrant,
      topology: context.topology,
      config: context.config,
      encoder: context.encoder,
      media: context.media,
      collection: target,
      groupId,
      fromBeginning: true,
      logger: context.logger,
      role: 'reindex',
      onPoison: (letter) => recordPoison(run, letter),
      guard: () => guardWrite(run),
      ...(context.metrics ? { metrics: context.metrics } : {}),
    }),
    consuming: false,
    keeper: new LeaseKeeper(context.fences, target, context.leaseOwner, context.config.reindex.fenceLeaseMs, (error) =>
      context.logger.warn('could not renew the write fence lease', { collection: target, error }),
    ),
    leaseHeld: false,
    shadow: { active: false, renew: undefined, stats: null },
    rate: { at: Date.now(), processed: 0, perSecond: 0 },
  };
  return run;
}

/** Recorded in the job before the offset moves past it: a resumed job still checks it. */
async function recordPoison(run: RebuildRun, letter: DeadLetter): Promise<void> {
  const document = unwrittenDocument(letter);
  if (!document) return;
  await save(run, { unwritten: recordUnwritten(run.state.unwritten, document) });
}

async function guardWrite(run: RebuildRun): Promise<void> {
  if (!isFenced(run.state.phase)) return;
  const margin = writeMarginMs(run.context.config.reindex.fenceLeaseMs);
  if (!run.leaseHeld || !(await run.context.fences.holds(run.target, run.context.leaseOwner, margin))) {
    throw new UnavailableError('fence-not-held', `the rebuild does not hold the write fence of ${run.target}`);
  }
}

/** Ends the shadow comparison and closes the lease keeper and the group, however the attempt ended. */
export async function closeRun(run: RebuildRun): Promise<void> {
  const { context } = run;
  clearInterval(run.shadow.renew);
  if (run.shadow.active)
    await context.shadow
      ?.withdraw(run.target)
      .catch((error: unknown) => context.logger.warn('could not withdraw the shadow announcement', { error }));
  await run.keeper.close();
  await run.group.close();
}

export async function save(run: RebuildRun, patch: Partial<RebuildState>): Promise<void> {
  // In memory first: the write guard and a concurrent save see the new phase at once.
  run.state = { ...run.state, ...patch };
  await run.context.saveState(run.state);
}

export async function consume(run: RebuildRun): Promise<void> {
  if (run.consuming) return;
  run.consuming = true;
  await run.group.start();
}

/** Rejects when the worker closes, so no phase waits past a deploy. */
export function wait(run: RebuildRun, ms: number): Promise<void> {
  return delay(ms, undefined, { signal: run.context.signal });
}

export async function throwIfCancelled(run: RebuildRun): Promise<void> {
  if (await run.context.isCancelled())
    throw new CancelledError('rebuild-cancelled', `rebuild of ${run.data.alias} into ${run.target} was cancelled`);
}

/** The collection the alias served when the replay caught up: what the target is compared with. */
export function liveCollection(run: RebuildRun): string {
  const live = run.state.previous;
  if (!live) throw new Error(`the rebuild of ${run.target} reached ${run.state.phase} without a live collection to compare with`);
  return live;
}
