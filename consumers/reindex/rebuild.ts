import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Admin, Kafka } from 'kafkajs';
import { setTimeout as delay } from 'node:timers/promises';
import { ensureCollection, getModelSpec, parseCollectionName, type SearchbusConfig, type Topology } from '../../topology/index.ts';
import type { DocumentEncoder } from '../encoders/index.ts';
import { EncoderConsumer } from '../encoder/index.ts';
import type { Logger, MetricsRegistry } from '../runtime/index.ts';
import { checkHistory } from './history-check.ts';
import type { RebuildState, ReindexJobData, ReindexProgress, ReindexResult } from './reindex-types.ts';

export interface RebuildContext {
  kafka: Kafka;
  admin: Admin;
  qdrant: QdrantClient;
  topology: Topology;
  config: SearchbusConfig;
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
export class RebuildCancelledError extends Error {
  override readonly name: string = 'RebuildCancelledError';
  readonly retriable = false;
}

/** The request cannot succeed as asked (unknown model, incomplete history, foreign alias target). */
export class RebuildRefusedError extends Error {
  override readonly name: string = 'RebuildRefusedError';
  readonly retriable = false;
}

/**
 * Rebuilds the collection behind `data.alias` with `data.modelId`, with zero downtime:
 *  1. create `<alias>__<model>__v<n+1>` beside the live collection;
 *  2. replay the compacted ingest topic from the earliest offset with a consumer group of its own,
 *     which keeps tailing, so updates and deletes published meanwhile land in the new collection;
 *  3. when that group has no lag on any partition, swap the alias in one atomic request;
 *  4. keep tailing until everything published before the swap is applied (a live encoder that
 *     resolved the old collection just before the swap may have written only there);
 *  5. drop the previous collection after the grace period (a delayed job).
 * Resumable: the target and group are saved in the job, and the group's committed offsets say
 * how far the replay got.
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
  if (!history.complete) {
    const message = `the ingest topic may no longer hold every document: ${history.problems.join('; ')}`;
    if (!data.allowIncompleteHistory) throw new RebuildRefusedError(`refusing to rebuild: ${message}. Re-publish the corpus, or pass --allow-incomplete-history to rebuild from what remains.`);
    await context.log(`warning: ${message}; rebuilding from what remains (--allow-incomplete-history)`);
  }

  let state = data.state;
  if (!state) {
    const version = (await nextVersion(qdrant, data.alias)) ;
    const target = topology.qdrant.collection(model.id, version);
    state = {
      target,
      groupId: topology.groups.reindex(target),
      endOffsetsAtStart: Object.fromEntries(history.partitions.map((p) => [String(p.partition), p.high])),
      startedAt: new Date(started).toISOString(),
    };
    await ensureCollection(qdrant, target, model);
    await context.saveState(state);
    await context.log(`created ${target}; replaying ${topic} with group ${state.groupId}`);
  } else {
    await ensureCollection(qdrant, state.target, model);
    await context.log(`resuming ${state.target} with group ${state.groupId}`);
  }
  const { target, groupId } = state;
  const total = Object.entries(state.endOffsetsAtStart).reduce(
    (sum, [partition, high]) => sum + Number(BigInt(high) - BigInt(history.partitions.find((p) => String(p.partition) === partition)?.low ?? '0')),
    0,
  );

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
    ...(context.metrics ? { metrics: context.metrics } : {}),
  });
  await consumer.start();
  let swapped = false;
  try {
    const rate = { at: Date.now(), processed: 0, perSecond: 0 };
    const report = async (phase: ReindexProgress['phase'], lag: number, processed: number): Promise<void> => {
      const now = Date.now();
      if (now - rate.at >= 1000) {
        rate.perSecond = ((processed - rate.processed) / (now - rate.at)) * 1000;
        rate.at = now;
        rate.processed = processed;
      }
      const remaining = Math.max(0, total - processed);
      await context.progress({
        phase,
        target,
        processed,
        total,
        lag,
        docsPerSecond: Math.round(rate.perSecond * 10) / 10,
        etaSeconds: rate.perSecond > 0 ? Math.ceil(remaining / rate.perSecond) : null,
      });
    };
    const position = async (): Promise<{ lag: number; processed: number; caughtUpTo(offsets: Record<string, string>): boolean }> => {
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const done = new Map((committed[0]?.partitions ?? []).map((p) => [String(p.partition), BigInt(p.offset)]));
      let lag = 0;
      let processed = 0;
      for (const end of ends) {
        const at = done.get(String(end.partition)) ?? -1n;
        const from = BigInt(end.low);
        const position = at < from ? from : at;
        lag += Number(BigInt(end.high) - position);
        const startEnd = BigInt(state.endOffsetsAtStart[String(end.partition)] ?? end.high);
        processed += Number((position < startEnd ? position : startEnd) - from);
      }
      return {
        lag,
        processed,
        caughtUpTo: (offsets) => ends.every((e) => (done.get(String(e.partition)) ?? BigInt(e.low)) >= BigInt(offsets[String(e.partition)] ?? e.high)),
      };
    };
    const pace = async (): Promise<void> => {
      if (await context.isCancelled()) throw new RebuildCancelledError(`rebuild of ${data.alias} into ${target} was cancelled`);
      await delay(config.reindex.progressIntervalMs, undefined, { signal: context.signal });
    };

    // Replay until no partition lags: everything published so far is in the target.
    for (;;) {
      const p = await position();
      await report('replaying', p.lag, p.processed);
      if (p.lag === 0) break;
      await pace();
    }

    await report('swapping', 0, total);
    const previous = await swapAlias(qdrant, data.alias, target);
    swapped = true;
    await context.log(`alias ${data.alias} now points at ${target}${previous ? ` (was ${previous})` : ''}`);

    // Whatever was published before the swap must be applied to the target by this group.
    const highAtSwap = Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((o) => [String(o.partition), o.high]));
    for (;;) {
      const p = await position();
      await report('draining', p.lag, total);
      if (p.caughtUpTo(highAtSwap)) break;
      await delay(config.reindex.progressIntervalMs, undefined, { signal: context.signal });
    }
    await report('done', 0, total);

    let dropPreviousAt: string | null = null;
    if (previous && previous !== target) {
      const graceMs = data.graceMs ?? config.reindex.graceMs;
      await context.scheduleDrop(previous, graceMs);
      dropPreviousAt = new Date(Date.now() + graceMs).toISOString();
    }
    const { count } = await qdrant.count(target, { exact: true });
    return { alias: data.alias, target, previous, modelId: model.id, points: count, seconds: (Date.now() - started) / 1000, dropPreviousAt };
  } catch (error) {
    if (error instanceof RebuildCancelledError && !swapped) {
      await consumer.stop();
      await discardTarget(context, target, groupId, data.alias);
      await context.log(`cancelled: removed ${target} and group ${groupId}; ${data.alias} untouched`);
    }
    throw error;
  } finally {
    await consumer.stop();
    if (swapped) await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

/** Removes a partial target, never the collection the alias serves. */
export async function discardTarget(context: Pick<RebuildContext, 'qdrant' | 'admin'>, target: string, groupId: string, alias: string): Promise<void> {
  const { aliases } = await context.qdrant.getAliases();
  if (aliases.some((a) => a.alias_name === alias && a.collection_name === target)) return;
  await context.qdrant.deleteCollection(target).catch(() => undefined);
  await context.admin.deleteGroups([groupId]).catch(() => undefined);
}

async function nextVersion(qdrant: QdrantClient, alias: string): Promise<number> {
  const { collections } = await qdrant.getCollections();
  const versions = collections.map((c) => parseCollectionName(c.name)).filter((p) => p?.alias === alias).map((p) => p?.version ?? 0);
  return Math.max(0, ...versions) + 1;
}

/** Points the alias at `target` in one request (delete + create apply atomically); returns the previous collection. */
async function swapAlias(qdrant: QdrantClient, alias: string, target: string): Promise<string | null> {
  const { aliases } = await qdrant.getAliases();
  const previous = aliases.find((a) => a.alias_name === alias)?.collection_name ?? null;
  if (previous === target) return null;
  await qdrant.updateCollectionAliases({
    actions: [...(previous ? [{ delete_alias: { alias_name: alias } }] : []), { create_alias: { alias_name: alias, collection_name: target } }],
  });
  return previous;
}
