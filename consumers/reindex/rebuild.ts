import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Admin, Kafka } from 'kafkajs';
import { setTimeout as delay } from 'node:timers/promises';
import { CancelledError, ensureCollection, getModelSpec, hasErrorCode, parseCollectionName, RejectedError, UnavailableError, type SearchbusConfig, type Topology } from '../../topology/index.ts';
import type { DocumentEncoder, MediaEncoder } from '../embedding/index.ts';
import { EncoderConsumer } from '../encoder/index.ts';
import { describeCollection, groupPosition, handoverOffsets, type Logger, type MetricsRegistry, type RedisWriteFences } from '../runtime/index.ts';
import { LeaseKeeper, writeMarginMs } from './fence-lease.ts';
import { checkHistory } from './history-check.ts';
import { describeLoss, describeOverflow, documentsLost, recordUnwritten, unwrittenDocument } from './document-loss.ts';
import type { EvalSetStore, ShadowBoard, ShadowStats } from '../quality/index.ts';
import { formatGate, runGate, type GateDependencies, type GateReport } from './quality-gate.ts';
import type { RebuildState, ReindexJobData, ReindexProgress, ReindexResult } from './reindex-types.ts';

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
  /** Aborted when the worker stops: leave everything for a resume. */
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

// A cancelled rebuild throws a CancelledError `rebuild-cancelled` (the partial collection and its
// consumer group are removed); one that cannot succeed as asked (unknown model, incomplete history)
// a RejectedError `rebuild-refused`. Neither is retried.

/**
 * Rebuilds the collection behind `data.alias` with `data.modelId`, with zero downtime and one
 * writer per message:
 *  1. create `<alias>__<model>__v<n+1>` beside the live collection;
 *  2. replay the compacted ingest topic from the earliest offset with a consumer group of its own,
 *     which keeps tailing, so updates and deletes published meanwhile land in the new collection;
 *  3. once that group has no lag on any partition: close the new collection's write fence with a
 *     lease this attempt renews (live encoders that resolve it wait; the group writes only while
 *     it holds the lease) and swap the alias in one atomic request — searches move over;
 *  4. wait one alias-cache lifetime, so no live encoder still writes the old collection, then let
 *     the rebuild group apply everything published until then and stop it;
 *  5. open the fence at the group's final offsets: live encoders take over from exactly there;
 *  6. drop the previous collection after the grace period (a delayed job).
 * Media are re-read (inline, or from their claim-check uri) and embedded again into the target's
 * `image`/`audio` vectors; before the swap, a document the replay dead-lettered (its uri gone, its
 * content no longer decodable) that the live collection still serves refuses the rebuild.
 * Resumable at every step: the target, group, phase and previous collection live in the job, and
 * the group's committed offsets say how far the replay got. If this attempt dies after step 3, its
 * lease lapses and live encoders reopen the fence where the group stopped (see write-fence.ts); a
 * later attempt that finds the fence open that way just finishes (step 6).
 */
// eslint-disable-next-line max-lines-per-function -- temporary: runRebuild is being split into phases on another branch (issue 19 lint).
export async function runRebuild(data: ReindexJobData, context: RebuildContext): Promise<ReindexResult> {
  const { admin, qdrant, topology, config } = context;
  const started = Date.now();
  const topic = topology.topics.ingest;
  let model;
  try {
    model = getModelSpec(data.modelId);
  } catch (error) {
    throw new RejectedError('rebuild-refused', (error as Error).message, { cause: error });
  }

  const history = await checkHistory(admin, topic);
  let state = data.state;
  if (!state) {
    if (!history.complete) {
      const message = `the ingest topic may no longer hold every document: ${history.problems.join('; ')}`;
      if (!data.allowIncompleteHistory) {
        throw new RejectedError('rebuild-refused', `refusing to rebuild: ${message}. Re-publish the corpus, or pass --allow-incomplete-history to rebuild from what remains.`);
      }
      await context.log(`warning: ${message}; rebuilding from what remains (--allow-incomplete-history)`);
    }
    const target = topology.qdrant.collection(model.id, await nextVersion(context, data.alias));
    state = {
      target,
      groupId: topology.groups.reindex(target),
      endOffsetsAtStart: Object.fromEntries(history.partitions.map((p) => [String(p.partition), p.high])),
      startedAt: new Date(started).toISOString(),
      phase: 'replaying',
      previous: null,
    };
    // Saved before the collection exists: reconciliation never mistakes it for an orphan.
    await context.saveState(state);
    await ensureCollection(qdrant, state.target, model, { settings: config.qdrant, analyzer: config.sparseAnalyzer });
    await context.log(`created ${target}; replaying ${topic} with group ${state.groupId}`);
  } else {
    await ensureCollection(qdrant, state.target, model, { settings: config.qdrant, analyzer: config.sparseAnalyzer });
    await context.log(`resuming ${state.target} with group ${state.groupId} (${state.phase})`);
  }
  const { target, groupId, endOffsetsAtStart } = state;
  const low = new Map(history.partitions.map((p) => [String(p.partition), BigInt(p.low)]));
  const total = Object.entries(endOffsetsAtStart).reduce((sum, [p, high]) => sum + Number(BigInt(high) - (low.get(p) ?? 0n)), 0);

  const leaseMs = config.reindex.fenceLeaseMs;
  // From the hand-over on, the rebuild group writes only while this attempt holds the fence lease.
  const fence = { fenced: state.phase === 'handover', held: false };
  const consumer = new EncoderConsumer({
    kafka: context.kafka,
    qdrant,
    topology,
    config,
    encoder: context.encoder,
    media: context.media,
    collection: target,
    groupId,
    fromBeginning: true,
    logger: context.logger,
    role: 'reindex',
    // Recorded in the job before the offset moves past it: a resumed job still checks it.
    onPoison: async (letter) => {
      const document = unwrittenDocument(letter);
      if (!document || !state) return;
      state = { ...state, unwritten: recordUnwritten(state.unwritten, document) };
      await context.saveState(state);
    },
    guard: async () => {
      if (!fence.fenced) return;
      if (!fence.held || !(await context.fences.holds(target, context.leaseOwner, writeMarginMs(leaseMs)))) {
        throw new UnavailableError('fence-not-held', `the rebuild does not hold the write fence of ${target}`);
      }
    },
    ...(context.metrics ? { metrics: context.metrics } : {}),
  });
  const keeper = new LeaseKeeper(context.fences, target, context.leaseOwner, leaseMs, (error) =>
    context.logger.warn('could not renew the write fence lease', { collection: target, error }),
  );
  // A job resumed at the hand-over starts its group only once it holds the fence.
  let consuming = false;
  const consume = async (): Promise<void> => {
    if (consuming) return;
    consuming = true;
    await consumer.start();
  };
  if (state.phase === 'replaying') await consume();
  let shadowing = false;
  let renewShadow: NodeJS.Timeout | undefined;
  try {
    const rate = { at: Date.now(), processed: 0, perSecond: 0 };
    let shadowStats: ShadowStats | null = null;
    const report = async (phase: ReindexProgress['phase'], lag: number, processed: number): Promise<void> => {
      if (shadowing) shadowStats = await context.shadow?.stats(target).catch(() => shadowStats) ?? null;
      const now = Date.now();
      if (now - rate.at >= 1000) {
        rate.perSecond = ((processed - rate.processed) / (now - rate.at)) * 1000;
        rate.at = now;
        rate.processed = processed;
      }
      await context.progress({
        phase,
        target,
        processed,
        total,
        lag,
        messagesPerSecond: Math.round(rate.perSecond * 10) / 10,
        etaSeconds: rate.perSecond > 0 ? Math.ceil(Math.max(0, total - processed) / rate.perSecond) : null,
        ...(shadowing || shadowStats ? { shadow: shadowStats } : {}),
        ...(state?.gate ? { gate: state.gate } : {}),
      });
    };
    const position = async (): Promise<{ lag: number; processed: number; committed: Map<string, bigint>; ends: Map<string, bigint> }> => {
      const { partitions, lag } = await groupPosition(admin, groupId, topic);
      const processed = partitions.reduce((sum, p) => {
        const startEnd = BigInt(endOffsetsAtStart[String(p.partition)] ?? p.high);
        return sum + Number((p.at < startEnd ? p.at : startEnd) - p.low);
      }, 0);
      return {
        lag,
        processed,
        committed: new Map(partitions.map((p) => [String(p.partition), p.at])),
        ends: new Map(partitions.map((p) => [String(p.partition), p.high])),
      };
    };
    const wait = (ms: number): Promise<void> => delay(ms, undefined, { signal: context.signal });

    // Shadow comparison: announced with a lapsing TTL (renewed here), so a dead worker stops it.
    const startShadow = async (live: string): Promise<void> => {
      const rate = data.shadow?.rate ?? 0;
      if (!context.shadow || rate <= 0) return;
      const board = context.shadow;
      const ttlMs = Math.max(10_000, 3 * config.reindex.progressIntervalMs);
      const announcement = { collection: target, modelId: model.id, jobId: context.jobId, sampleRate: rate, since: new Date().toISOString() };
      await board.announce(announcement, ttlMs);
      shadowing = true;
      renewShadow = setInterval(() => {
        board.announce(announcement, ttlMs).catch((error: unknown) => context.logger.warn('could not renew the shadow announcement', { error }));
      }, config.reindex.progressIntervalMs);
      await context.log(`mirroring ${Math.round(rate * 1000) / 10}% of live searches to ${target} (live: ${live})`);
    };
    const holdForShadow = async (): Promise<void> => {
      const holdMs = data.shadow?.holdMs ?? 0;
      if (!shadowing || holdMs <= 0) return;
      const until = Date.now() + holdMs;
      for (;;) {
        const p = await position();
        await report('shadowing', p.lag, p.processed);
        const samples = shadowStats?.samples ?? 0;
        if (Date.now() >= until || (data.shadow?.minSamples && samples >= data.shadow.minSamples)) break;
        if (await context.isCancelled()) throw new CancelledError('rebuild-cancelled', `rebuild of ${data.alias} into ${target} was cancelled`);
        await wait(config.reindex.progressIntervalMs);
      }
    };
    const gate = async (live: string): Promise<GateReport | null> => {
      if (!data.gate) return null;
      if (state?.gate) return state.gate;
      if (!context.gate) throw new RejectedError('rebuild-refused', 'this reindex worker cannot run a quality gate (no query encoder)');
      const request = data.gate;
      const set = request.inline ?? (await context.gate.evalSets.get(request.tenant, request.set));
      if (!set) throw new RejectedError('rebuild-refused', `no evaluation set "${request.set}" for tenant ${request.tenant} (add it with \`searchbus eval-set add\`)`);
      if (!parseCollectionName(live)?.modelId) throw new RejectedError('rebuild-refused', `the live collection ${live} does not name its model`);
      const p = await position();
      await report('gating', p.lag, p.processed);
      await context.log(`gate: searching ${set.queries.length} judged queries of ${request.set} (tenant ${set.tenant}) on ${live} and ${target}`);
      // Each side is searched with its own model and vector layout (a dense-only live index against a hybrid one).
      const [liveSide, targetSide] = await Promise.all([describeCollection(qdrant, live), describeCollection(qdrant, target)]);
      const verdict = await runGate(request, set, liveSide, targetSide, { ...context.gate.deps, signal: context.signal });
      state = { ...state!, gate: verdict };
      await context.saveState(state);
      await context.log(formatGate(verdict));
      return verdict;
    };
    // Refused: the live index is untouched; the target stays for inspection until the grace period.
    const refuse = async (verdict: GateReport, live: string): Promise<ReindexResult> => {
      await consumer.close();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      const graceMs = data.graceMs ?? config.reindex.graceMs;
      await context.scheduleDrop(target, graceMs);
      const dropTargetAt = new Date(Date.now() + graceMs).toISOString();
      await report('done', 0, total);
      await context.log(`refused by the gate: ${data.alias} still serves ${live}; ${target} is kept until ${dropTargetAt}`);
      const { count } = await qdrant.count(target, { exact: true });
      return {
        outcome: 'refused-by-gate',
        alias: data.alias,
        target,
        previous: live,
        modelId: model.id,
        points: count,
        seconds: (Date.now() - started) / 1000,
        dropPreviousAt: null,
        dropTargetAt,
        gate: verdict,
        shadow: shadowStats,
      };
    };

    // Nothing the live collection serves may be missing from the target because the replay could not write it.
    const refuseLoss = async (live: string): Promise<void> => {
      const unwritten = state?.unwritten;
      if (!unwritten) return;
      if (unwritten.overflow > 0) throw new RejectedError('rebuild-refused', describeOverflow(unwritten, target));
      const lost = await documentsLost(qdrant, live, target, unwritten.documents);
      if (lost.length > 0) throw new RejectedError('rebuild-refused', describeLoss(lost, live, target));
      await context.log(`${unwritten.documents.length} document(s) dead-lettered by the replay; none is served by ${live}, so the swap loses nothing`);
    };

    if (state.phase === 'replaying') {
      // 2. Replay until no partition lags: everything published so far is in the target.
      for (;;) {
        const p = await position();
        await report('replaying', p.lag, p.processed);
        if (p.lag === 0) break;
        if (await context.isCancelled()) throw new CancelledError('rebuild-cancelled', `rebuild of ${data.alias} into ${target} was cancelled`);
        await wait(config.reindex.progressIntervalMs);
      }
      const { aliases } = await qdrant.getAliases();
      const previous = aliases.find((a) => a.alias_name === data.alias)?.collection_name ?? null;
      if (previous && previous !== target) {
        await refuseLoss(previous);
        // Caught up and tailing: mirror live traffic, then let the gate judge, before any fence closes.
        await startShadow(previous);
        await holdForShadow();
        const verdict = await gate(previous);
        if (verdict && !verdict.passed && !data.gate?.force) return await refuse(verdict, previous);
        // Again if shadowing or the gate took time: the tail may have dead-lettered more meanwhile.
        if (shadowing || verdict) await refuseLoss(previous);
      }
      fence.fenced = true;
      state = { ...state, phase: 'handover', previous: previous === target ? null : previous };
      await context.saveState(state);
    }
    const settled = state;
    const finish = async (): Promise<ReindexResult> => {
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await report('done', 0, total);
      // 6. The previous collection serves stale caches for a while, then goes.
      let dropPreviousAt: string | null = null;
      if (settled.previous) {
        const graceMs = data.graceMs ?? config.reindex.graceMs;
        await context.scheduleDrop(settled.previous, graceMs);
        dropPreviousAt = new Date(Date.now() + graceMs).toISOString();
      }
      const { count } = await qdrant.count(target, { exact: true });
      const forced = settled.gate ? !settled.gate.passed : false;
      if (forced) await context.log(`the gate refused ${target} and it was swapped in anyway (--force)`);
      return {
        outcome: 'swapped',
        alias: data.alias,
        target,
        previous: settled.previous,
        modelId: model.id,
        points: count,
        seconds: (Date.now() - started) / 1000,
        dropPreviousAt,
        gate: settled.gate ?? null,
        forced,
        shadow: shadowStats,
        unwritten: (state?.unwritten?.documents.length ?? 0) + (state?.unwritten?.overflow ?? 0),
      };
    };
    const takenOver = async (): Promise<ReindexResult> => {
      await consumer.close();
      await context.log(`found ${target} open and served: live encoders write it from where group ${groupId} stopped (an earlier attempt finished the hand-over, or its lease lapsed and they took over)`);
      return finish();
    };

    const lostLease = async (): Promise<ReindexResult> => {
      await consumer.close();
      const now = await context.fences.get(target);
      if (now?.state === 'open') return takenOver();
      throw new UnavailableError('fence-lost', `the rebuild of ${target} lost its write fence lease`);
    };

    // 3. Only the rebuild writes the target until the hand-over; then searches move over.
    await report('swapping', 0, total);
    if (!(await acquireFence(context, data.alias, target, groupId, leaseMs, wait))) return await takenOver();
    // From here the lease lapses unless renewed: a dead worker never strands the fence.
    fence.held = true;
    keeper.start();
    await consume();
    await swapAlias(qdrant, data.alias, target);
    await context.log(`alias ${data.alias} now points at ${target}${state.previous ? ` (was ${state.previous})` : ''}`);

    // 4. After one cache lifetime no live encoder writes the old collection any more; whatever it
    // wrote there was published before now, so the rebuild group applies it to the target.
    await report('draining', 0, total);
    await wait(config.query.aliasCacheTtlMs + 1_000);
    let p = await position();
    const highs = p.ends;
    for (;;) {
      await report('draining', p.lag, total);
      if (keeper.lost) return await lostLease();
      const current = p;
      if ([...highs].every(([partition, high]) => (current.committed.get(partition) ?? 0n) >= high)) break;
      await wait(config.reindex.progressIntervalMs);
      p = await position();
    }
    await consumer.close();

    // 5. Live encoders continue from exactly where the rebuild group stopped.
    const handover = (await position()).committed;
    await keeper.close();
    if (!(await context.fences.reopen(target, Object.fromEntries([...handover].map(([p, o]) => [p, o.toString()])), 'owner', context.leaseOwner))) {
      return await lostLease();
    }
    return await finish();

  } catch (error) {
    if (context.signal.aborted && fence.held) {
      // Stopped on purpose (deploy, Ctrl-C): hand the collection to live encoders now rather than
      // make them wait out the lease; the resumed job finds it taken over and finishes.
      try {
        await consumer.close();
        const offsets = await handoverOffsets(admin, groupId, topic);
        if (await context.fences.reopen(target, offsets, 'owner', context.leaseOwner, true)) {
          await context.log(`worker stopping: handed ${target} to live encoders where group ${groupId} stopped`);
        }
      } catch (handBack) {
        // The lease lapses instead, and live encoders take over then.
        context.logger.warn('could not hand the collection back on stop', { collection: target, error: handBack });
      }
    }
    if (hasErrorCode(error, 'rebuild-cancelled')) {
      await consumer.close();
      await discardTarget(context, target, groupId, data.alias);
      await context.log(`cancelled: removed ${target} and group ${groupId}; ${data.alias} untouched`);
    }
    throw error;
  } finally {
    clearInterval(renewShadow);
    if (shadowing) await context.shadow?.withdraw(target).catch((error: unknown) => context.logger.warn('could not withdraw the shadow announcement', { error }));
    await keeper.close();
    await consumer.close();
  }
}

/**
 * Closes the target's fence for this attempt. Waits while an earlier attempt's lease runs (that
 * attempt may still be writing). False if live encoders already took the collection over (the fence
 * is open and the alias serves it): the rebuild must not write again.
 */
async function acquireFence(
  context: RebuildContext,
  alias: string,
  target: string,
  groupId: string,
  leaseMs: number,
  wait: (ms: number) => Promise<void>,
): Promise<boolean> {
  let logged = '';
  for (;;) {
    const { aliases } = await context.qdrant.getAliases();
    const served = aliases.some((a) => a.alias_name === alias && a.collection_name === target);
    // Before the swap no live encoder writes the target, so an open fence (reopened by
    // reconciliation while this job waited) may be closed again.
    const result = await context.fences.acquire(target, { owner: context.leaseOwner, jobId: context.jobId, groupId }, leaseMs, !served);
    if (result.outcome === 'acquired') return true;
    if (result.outcome === 'open') return false;
    if (logged !== result.lease.owner) {
      logged = result.lease.owner;
      await context.log(`waiting for the write fence lease of job ${result.lease.jobId} (another attempt) on ${target} to lapse`);
    }
    await wait(Math.min(context.config.reindex.progressIntervalMs, leaseMs));
  }
}

/**
 * A rebuild that will not be resumed (its job failed, is gone or was cancelled): before the swap
 * its partial target goes; after it, the fence opens where the rebuild group stopped, so live
 * encoders take over from there and writes never stall. Idempotent.
 */
export async function abandonRebuild(
  context: Pick<RebuildContext, 'qdrant' | 'admin' | 'fences' | 'topology'> & { scheduleDrop?: (collection: string) => Promise<void> },
  target: string,
  groupId: string,
  alias: string,
  previous: string | null = null,
): Promise<'discarded' | 'reopened' | 'already open'> {
  const { aliases } = await context.qdrant.getAliases();
  if (!aliases.some((a) => a.alias_name === alias && a.collection_name === target)) {
    await discardTarget(context, target, groupId, alias);
    return 'discarded';
  }
  const offsets = await handoverOffsets(context.admin, groupId, context.topology.topics.ingest);
  const reopened = await context.fences.reopen(target, offsets, 'any');
  // Only once the fence is open: the group's offsets are the hand-over point.
  await context.admin.deleteGroups([groupId]).catch(() => undefined);
  // The swap happened, so the previous collection goes after its grace period, as on success.
  if (previous && previous !== target) await context.scheduleDrop?.(previous);
  return reopened ? 'reopened' : 'already open';
}

/** Removes a partial target, never the collection the alias serves. */
export async function discardTarget(
  context: Pick<RebuildContext, 'qdrant' | 'admin' | 'fences'>,
  target: string,
  groupId: string,
  alias: string,
): Promise<void> {
  const { aliases } = await context.qdrant.getAliases();
  if (aliases.some((a) => a.alias_name === alias && a.collection_name === target)) return;
  await context.qdrant.deleteCollection(target).catch(() => undefined);
  await context.fences.remove(target);
  await context.admin.deleteGroups([groupId]).catch(() => undefined);
}

/**
 * A version no collection of the alias ever had. A number is never handed out twice: a rebuild
 * group left by a discarded target (its dead member not yet expired) would otherwise be reused by
 * the next rebuild with its stale offsets, and that rebuild would skip what they cover.
 */
async function nextVersion(context: Pick<RebuildContext, 'qdrant' | 'admin' | 'topology' | 'reserveVersion'>, alias: string): Promise<number> {
  const [{ collections }, { groups }] = await Promise.all([context.qdrant.getCollections(), context.admin.listGroups()]);
  const prefix = context.topology.groups.reindex('');
  const names = [...collections.map((c) => c.name), ...groups.filter((g) => g.groupId.startsWith(prefix)).map((g) => g.groupId.slice(prefix.length))];
  const versions = names.map((n) => parseCollectionName(n)).filter((p) => p?.alias === alias).map((p) => p?.version ?? 0);
  return context.reserveVersion(alias, Math.max(0, ...versions) + 1);
}

/** Points the alias at `target` in one request (delete + create apply atomically). Idempotent. */
async function swapAlias(qdrant: QdrantClient, alias: string, target: string): Promise<void> {
  const { aliases } = await qdrant.getAliases();
  const previous = aliases.find((a) => a.alias_name === alias)?.collection_name ?? null;
  if (previous === target) return;
  await qdrant.updateCollectionAliases({
    actions: [...(previous ? [{ delete_alias: { alias_name: alias } }] : []), { create_alias: { alias_name: alias, collection_name: target } }],
  });
}
