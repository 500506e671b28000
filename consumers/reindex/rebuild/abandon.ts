import { handoverOffsets } from '../../runtime/index.ts';
import type { RebuildContext } from './context.ts';
import type { RebuildRun } from './rebuild-run.ts';

// What a rebuild leaves when it will not go on: used by a cancelled run, by the worker for a job
// that failed for good, and by reconciliation for what nobody owns any more.

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

/** A cancelled rebuild: its partial collection and group go; the alias is untouched. */
export async function discardCancelled(run: RebuildRun): Promise<void> {
  await run.group.close();
  await discardTarget(run.context, run.target, run.groupId, run.data.alias);
  await run.context.log(`cancelled: removed ${run.target} and group ${run.groupId}; ${run.data.alias} untouched`);
}
