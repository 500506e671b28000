import { ensureCollection, parseCollectionName, RejectedError } from '../../../topology/index.ts';
import type { RebuildState } from '../reindex-types.ts';
import type { RebuildContext } from './context.ts';
import type { PhaseOutcome, RebuildAttempt, RebuildRun } from './rebuild-run.ts';

// Creating `<alias>__<model>__v<n+1>` beside the live collection. A new job first reserves its
// target and persists it (reserveTarget, before the run exists: the run's group is named after
// the target); the phase then creates the collection. A resumed attempt makes sure it exists.

/** A new job's state: refuses an incomplete history unless allowed, reserves a version, persists. */
export async function reserveTarget(attempt: RebuildAttempt): Promise<RebuildState> {
  const { data, context, history, model } = attempt;
  if (!history.complete) {
    const message = `the ingest topic may no longer hold every document: ${history.problems.join('; ')}`;
    if (!data.allowIncompleteHistory) {
      throw new RejectedError(
        'rebuild-refused',
        `refusing to rebuild: ${message}. Re-publish the corpus, or pass --allow-incomplete-history to rebuild from what remains.`,
      );
    }
    await context.log(`warning: ${message}; rebuilding from what remains (--allow-incomplete-history)`);
  }
  const target = context.topology.qdrant.collection(model.id, await nextVersion(context, data.alias));
  const state: RebuildState = {
    target,
    groupId: context.topology.groups.reindex(target),
    endOffsetsAtStart: Object.fromEntries(history.partitions.map((p) => [String(p.partition), p.high])),
    startedAt: new Date(attempt.startedMs).toISOString(),
    phase: 'creating',
    previous: null,
  };
  // Saved before the collection exists: reconciliation never mistakes it for an orphan.
  await context.saveState(state);
  return state;
}

export async function phaseCreating(run: RebuildRun): Promise<PhaseOutcome<'creating'>> {
  await ensureTarget(run);
  await run.context.log(`created ${run.target}; replaying ${run.topic} with group ${run.groupId}`);
  return { next: 'replaying' };
}

/** Before a resumed attempt's first phase: the last one may have died between persisting its target and creating it. */
export async function resumeRun(run: RebuildRun): Promise<void> {
  await ensureTarget(run);
  await run.context.log(`resuming ${run.target} with group ${run.groupId} (${run.state.phase})`);
}

function ensureTarget(run: RebuildRun): Promise<unknown> {
  const { config } = run.context;
  return ensureCollection(run.context.qdrant, run.target, run.model, { settings: config.qdrant, analyzer: config.sparseAnalyzer });
}

/**
 * A version no collection of the alias ever had. A number is never handed out twice: a rebuild
 * group left by a discarded target (its dead member not yet expired) would otherwise be reused by
 * the next rebuild with its stale offsets, and that rebuild would skip what they cover.
 */
async function nextVersion(
  context: Pick<RebuildContext, 'qdrant' | 'admin' | 'topology' | 'reserveVersion'>,
  alias: string,
): Promise<number> {
  const [{ collections }, { groups }] = await Promise.all([context.qdrant.getCollections(), context.admin.listGroups()]);
  const prefix = context.topology.groups.reindex('');
  const names = [
    ...collections.map((c) => c.name),
    ...groups.filter((g) => g.groupId.startsWith(prefix)).map((g) => g.groupId.slice(prefix.length)),
  ];
  const versions = names
    .map((n) => parseCollectionName(n))
    .filter((p) => p?.alias === alias)
    .map((p) => p?.version ?? 0);
  return context.reserveVersion(alias, Math.max(0, ...versions) + 1);
}
