import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Admin, Kafka } from 'kafkajs';
import { setTimeout as delay } from 'node:timers/promises';
import { ensureCollection, getModelSpec, parseCollectionName, SearchbusError, type SearchbusConfig, type Topology } from '../../topology/index.ts';
import type { DocumentEncoder } from '../encoders/index.ts';
import { EncoderConsumer } from '../encoder/index.ts';
import { groupPosition, type Logger, type MetricsRegistry, type RedisWriteFences } from '../runtime/index.ts';
import { checkHistory } from './history-check.ts';
import type { RebuildState, ReindexJobData, ReindexProgress, ReindexResult } from './reindex-types.ts';

export interface RebuildContext {
  kafka: Kafka;
  admin: Admin;
  qdrant: QdrantClient;
  topology: Topology;
  config: SearchbusConfig;
  fences: Pick<RedisWriteFences, 'close' | 'open' | 'remove'>;
  encoder: (modelId: string) => Promise<DocumentEncoder>;
  logger: Logger;
  metrics?: MetricsRegistry;
  /** Aborted when the worker stops: leave everything for a resume. */
  signal: AbortSignal;
  isCancelled(): Promise<boolean>;
  saveState(state: RebuildState): Promise<void>;
  progress(progress: ReindexProgress): Promise<void>;
  log(line: string): Promise<void>;
  scheduleDrop(collection: string, delayMs: number): Promise<void>;
}

/** The rebuild was cancelled; the partial collection and its consumer group are removed. */
export class RebuildCancelledError extends SearchbusError {
  override readonly name: string = 'RebuildCancelledError';
  override readonly retriable = false;
  override readonly code: string = 'rebuild-cancelled';
}

/** The request cannot succeed as asked (unknown model, incomplete history). */
export class RebuildRefusedError extends SearchbusError {
  override readonly name: string = 'RebuildRefusedError';
  override readonly retriable = false;
  override readonly code: string = 'rebuild-refused';
}

/**
 * Rebuilds the collection behind `data.alias` with `data.modelId`, with zero downtime and one
 * writer per message:
 *  1. create `<alias>__<model>__v<n+1>` beside the live collection;
 *  2. replay the compacted ingest topic from the earliest offset with a consumer group of its own,
 *     which keeps tailing, so updates and deletes published meanwhile land in the new collection;
 *  3. once that group has no lag on any partition: close the new collection's write fence (live
 *     encoders that resolve it wait) and swap the alias in one atomic request — searches move over;
 *  4. wait one alias-cache lifetime, so no live encoder still writes the old collection, then let
 *     the rebuild group apply everything published until then and stop it;
 *  5. open the fence at the group's final offsets: live encoders take over from exactly there;
 *  6. drop the previous collection after the grace period (a delayed job).
 * Resumable at every step: the target, group, phase and previous collection live in the job, and
 * the group's committed offsets say how far the replay got.
 */
export async function runRebuild(data: ReindexJobData, context: RebuildContext): Promise<ReindexResult> {
  const { admin, qdrant, topology, config } = context;
  const started = Date.now();
  const topic = topology.topics.ingest;
  let model;
  try {
    model = getModelSpec(data.modelId);
  } catch (error) {
    throw new RebuildRefusedError((error as Error).message, { cause: error });
  }

  const history = await checkHistory(admin, topic);
  let state = data.state;
  if (!state) {
    if (!history.complete) {
      const message = `the ingest topic may no longer hold every document: ${history.problems.join('; ')}`;
      if (!data.allowIncompleteHistory) {
        throw new RebuildRefusedError(`refusing to rebuild: ${message}. Re-publish the corpus, or pass --allow-incomplete-history to rebuild from what remains.`);
      }
      await context.log(`warning: ${message}; rebuilding from what remains (--allow-incomplete-history)`);
    }
    const target = topology.qdrant.collection(model.id, await nextVersion(qdrant, data.alias));
    state = {
      target,
      groupId: topology.groups.reindex(target),
      endOffsetsAtStart: Object.fromEntries(history.partitions.map((p) => [String(p.partition), p.high])),
      startedAt: new Date(started).toISOString(),
      phase: 'replaying',
      previous: null,
    };
    await ensureCollection(qdrant, state.target, model);
    await context.saveState(state);
    await context.log(`created ${target}; replaying ${topic} with group ${state.groupId}`);
  } else {
    await ensureCollection(qdrant, state.target, model);
    await context.log(`resuming ${state.target} with group ${state.groupId} (${state.phase})`);
  }
  const { target, groupId, endOffsetsAtStart } = state;
  const low = new Map(history.partitions.map((p) => [String(p.partition), BigInt(p.low)]));
  const total = Object.entries(endOffsetsAtStart).reduce((sum, [p, high]) => sum + Number(BigInt(high) - (low.get(p) ?? 0n)), 0);

  const consumer = new EncoderConsumer({
    kafka: context.kafka,
    qdrant,
    topology,
    config,
    encoder: context.encoder,
    collection: target,
    groupId,
    fromBeginning: true,
    logger: context.logger,
    role: 'reindex',
    ...(context.metrics ? { metrics: context.metrics } : {}),
  });
  await consumer.start();
  try {
    const rate = { at: Date.now(), processed: 0, perSecond: 0 };
    const report = async (phase: ReindexProgress['phase'], lag: number, processed: number): Promise<void> => {
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

    if (state.phase === 'replaying') {
      // 2. Replay until no partition lags: everything published so far is in the target.
      for (;;) {
        const p = await position();
        await report('replaying', p.lag, p.processed);
        if (p.lag === 0) break;
        if (await context.isCancelled()) throw new RebuildCancelledError(`rebuild of ${data.alias} into ${target} was cancelled`);
        await wait(config.reindex.progressIntervalMs);
      }
      const { aliases } = await qdrant.getAliases();
      const previous = aliases.find((a) => a.alias_name === data.alias)?.collection_name ?? null;
      state = { ...state, phase: 'handover', previous: previous === target ? null : previous };
      await context.saveState(state);
    }

    // 3. Only the rebuild writes the target until the hand-over; then searches move over.
    await report('swapping', 0, total);
    await context.fences.close(target);
    await swapAlias(qdrant, data.alias, target);
    await context.log(`alias ${data.alias} now points at ${target}${state.previous ? ` (was ${state.previous})` : ''}`);

    // 4. After one cache lifetime no live encoder writes the old collection any more; whatever it
    // wrote there was published before now, so the rebuild group applies it to the target.
    await wait(config.query.aliasCacheTtlMs + 1_000);
    let p = await position();
    const highs = p.ends;
    for (;;) {
      await report('draining', p.lag, total);
      const current = p;
      if ([...highs].every(([partition, high]) => (current.committed.get(partition) ?? 0n) >= high)) break;
      await wait(config.reindex.progressIntervalMs);
      p = await position();
    }
    await consumer.stop();

    // 5. Live encoders continue from exactly where the rebuild group stopped.
    const handover = (await position()).committed;
    await context.fences.open(target, Object.fromEntries([...handover].map(([p, o]) => [p, o.toString()])));
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await report('done', 0, total);

    // 6. The previous collection serves stale caches for a while, then goes.
    let dropPreviousAt: string | null = null;
    if (state.previous) {
      const graceMs = data.graceMs ?? config.reindex.graceMs;
      await context.scheduleDrop(state.previous, graceMs);
      dropPreviousAt = new Date(Date.now() + graceMs).toISOString();
    }
    const { count } = await qdrant.count(target, { exact: true });
    return { alias: data.alias, target, previous: state.previous, modelId: model.id, points: count, seconds: (Date.now() - started) / 1000, dropPreviousAt };
  } catch (error) {
    if (error instanceof RebuildCancelledError) {
      await consumer.stop();
      await discardTarget(context, target, groupId, data.alias);
      await context.log(`cancelled: removed ${target} and group ${groupId}; ${data.alias} untouched`);
    }
    throw error;
  } finally {
    await consumer.stop();
  }
}

/**
 * A rebuild that will not be resumed: before the swap its partial target goes; after it, live
 * encoders take over the target from wherever the rebuild group got to, so writes never stall.
 */
export async function abandonRebuild(
  context: Pick<RebuildContext, 'qdrant' | 'admin' | 'fences' | 'topology'>,
  target: string,
  groupId: string,
  alias: string,
): Promise<void> {
  const { aliases } = await context.qdrant.getAliases();
  if (!aliases.some((a) => a.alias_name === alias && a.collection_name === target)) {
    await discardTarget(context, target, groupId, alias);
    return;
  }
  const [offsets] = await context.admin.fetchOffsets({ groupId, topics: [context.topology.topics.ingest] });
  const from = Object.fromEntries((offsets?.partitions ?? []).map((p) => [String(p.partition), BigInt(p.offset) < 0n ? '0' : p.offset]));
  await context.fences.open(target, from);
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

async function nextVersion(qdrant: QdrantClient, alias: string): Promise<number> {
  const { collections } = await qdrant.getCollections();
  const versions = collections.map((c) => parseCollectionName(c.name)).filter((p) => p?.alias === alias).map((p) => p?.version ?? 0);
  return Math.max(0, ...versions) + 1;
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
