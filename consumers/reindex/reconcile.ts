import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Queue } from 'bullmq';
import type { Admin } from 'kafkajs';
import { parseCollectionName, type Topology } from '../../topology/index.ts';
import type { Logger, RedisWriteFences } from '../runtime/index.ts';
import { isOrphanGroup, isPartialCollection, planFence } from './reconcile-plan.ts';
import { abandonRebuild, discardTarget } from './rebuild/index.ts';
import { orphanWatchCollections } from './retire-watches.ts';
import { JOB_NAMES, type DropCollectionJobData, type ReindexJobData } from './reindex-types.ts';

export interface ReconcileContext {
  qdrant: QdrantClient;
  admin: Admin;
  fences: RedisWriteFences;
  topology: Topology;
  queue: Queue<ReindexJobData | DropCollectionJobData>;
  logger: Logger;
  /** Drops a previous collection after the grace period (a delayed drop-collection job). */
  scheduleDrop: (collection: string) => Promise<void>;
}

/** One line per thing reconciliation changed, e.g. `reopened the write fence of x at {...}`. */
export type ReconcileReport = string[];

const LIVE_STATES = ['active', 'waiting', 'delayed', 'prioritized', 'waiting-children'] as const;

interface Ownership {
  jobIds: Set<string>;
  targets: Set<string>;
  groups: Set<string>;
  drops: Set<string>;
}

/**
 * Repairs what crashed or failed rebuilds left behind, without an operator: closed write fences
 * nobody renews (reopened where their group stopped, or discarded with their partial collection),
 * rebuild consumer groups no job owns, and `<alias>__<model>__v<n>` collections that nothing
 * serves, no job owns and no pending drop names. Never touches what an alias serves, the target of
 * a queued, delayed or running job, nor a previous collection inside its grace period. Safe to run
 * beside running workers: the stores are listed before the jobs, and a job saves its target before
 * it creates the collection, so a collection seen here has its owner among the jobs listed after.
 */
export async function reconcile(context: ReconcileContext): Promise<ReconcileReport> {
  const { qdrant, admin, fences, topology } = context;
  const report: ReconcileReport = [];
  const [{ collections }, { aliases }, fenceList, { groups }] = await Promise.all([
    qdrant.getCollections(),
    qdrant.getAliases(),
    fences.list(),
    admin.listGroups(),
  ]);
  // Twice: a job moving between two states while one listing runs is in one of them next time.
  const owners = mergeOwnership(await ownership(context.queue), await ownership(context.queue));
  const existing = new Set(collections.map((c) => c.name));
  const served = new Set(aliases.map((a) => a.collection_name));
  const alias = topology.qdrant.alias;
  const gone = new Set<string>();

  for (const [collection, fence] of fenceList.fences) {
    const ownerLive = owners.targets.has(collection) && (fence.state !== 'closed' || !fence.lease || owners.jobIds.has(fence.lease.jobId));
    const action = planFence({
      fence,
      nowMs: fenceList.nowMs,
      exists: existing.has(collection),
      served: served.has(collection),
      ownerLive,
    });
    const groupId = (fence.state === 'closed' ? fence.lease?.groupId : undefined) || topology.groups.reindex(collection);
    if (action === 'remove') {
      await fences.remove(collection);
      report.push(`removed the write fence of ${collection}, which no longer exists`);
    } else if (action === 'reopen') {
      const outcome = await abandonRebuild(context, collection, groupId, alias);
      report.push(
        `reopened the write fence of ${collection} where group ${groupId} stopped (${outcome}; its rebuild is over or its lease lapsed)`,
      );
      gone.add(groupId);
    } else if (action === 'discard') {
      await discardTarget(context, collection, groupId, alias);
      report.push(`discarded ${collection}, the partial target of a rebuild that will not resume, with its fence and group ${groupId}`);
      gone.add(groupId);
      existing.delete(collection);
    }
  }

  const servedVersion = Math.max(
    0,
    ...[...served]
      .map((c) => parseCollectionName(c))
      .filter((p) => p?.alias === alias)
      .map((p) => p?.version ?? 0),
  );
  for (const collection of existing) {
    const parsed = parseCollectionName(collection);
    const partial = isPartialCollection({
      name: collection,
      alias: parsed?.alias ?? null,
      ownAlias: alias,
      served: served.has(collection),
      owned: owners.targets.has(collection),
      dropPending: owners.drops.has(collection),
    });
    if (!partial) continue;
    const groupId = topology.groups.reindex(collection);
    if (parsed && parsed.version < servedVersion) {
      // An earlier collection whose drop was never scheduled (its rebuild died after the swap):
      // it still gets its grace period, for query consumers that cached it.
      await context.scheduleDrop(collection);
      report.push(`scheduled the drop of ${collection}, a previous collection, after the grace period`);
      continue;
    }
    await discardTarget(context, collection, groupId, alias);
    report.push(`discarded ${collection}: no alias serves it, no job owns it, no drop is pending`);
    gone.add(groupId);
  }

  for (const collection of await orphanWatchCollections(qdrant, topology)) {
    if (owners.drops.has(collection)) continue;
    // Its rebuild's drop job never ran to the end: the watches move to the live model's collection, then it goes.
    await context.scheduleDrop(collection);
    report.push(`scheduled the drop of ${collection}, the watches of a model no collection uses, once they are embedded again`);
  }

  for (const { groupId } of groups) {
    if (gone.has(groupId) || !isOrphanGroup(groupId, topology.groups.reindex(''), owners.groups)) continue;
    try {
      await admin.deleteGroups([groupId]);
      report.push(`deleted consumer group ${groupId}, which no rebuild job owns`);
    } catch (error) {
      // A member still in it (a worker that has not noticed its job is over): the next start retries.
      context.logger.warn('could not delete an orphaned rebuild group', { groupId, error });
    }
  }
  return report;
}

async function ownership(queue: Queue<ReindexJobData | DropCollectionJobData>): Promise<Ownership> {
  const jobs = await queue.getJobs([...LIVE_STATES], 0, -1);
  const owners: Ownership = { jobIds: new Set(), targets: new Set(), groups: new Set(), drops: new Set() };
  for (const job of jobs) {
    if (job.name === JOB_NAMES.dropCollection) {
      owners.drops.add((job.data as DropCollectionJobData).collection);
      continue;
    }
    const state = (job.data as ReindexJobData).state;
    if (job.id) owners.jobIds.add(job.id);
    if (state) {
      owners.targets.add(state.target);
      owners.groups.add(state.groupId);
    }
  }
  return owners;
}

function mergeOwnership(a: Ownership, b: Ownership): Ownership {
  return {
    jobIds: new Set([...a.jobIds, ...b.jobIds]),
    targets: new Set([...a.targets, ...b.targets]),
    groups: new Set([...a.groups, ...b.groups]),
    drops: new Set([...a.drops, ...b.drops]),
  };
}
