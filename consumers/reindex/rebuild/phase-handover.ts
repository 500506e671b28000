import type { QdrantClient } from '@qdrant/js-client-rest';
import { takenOver } from './lease-lost.ts';
import { report } from './progress.ts';
import { consume, wait, type PhaseOutcome, type RebuildRun } from './rebuild-run.ts';

/**
 * Closes the target's write fence under a lease this attempt renews (live encoders that resolve
 * the target wait; the group writes only while the lease is held), then swaps the alias in one
 * atomic request: searches move over. Only the rebuild has written the target until here.
 */
export async function phaseHandover(run: RebuildRun): Promise<PhaseOutcome<'handover'>> {
  await report(run, 'swapping', 0, run.total);
  if (!(await acquireFence(run))) return takenOver(run);
  // From here the lease lapses unless renewed: a dead worker never strands the fence.
  run.leaseHeld = true;
  run.keeper.start();
  // A job resumed here starts its group only now that it holds the fence.
  await consume(run);
  await swapAlias(run.context.qdrant, run.data.alias, run.target);
  await run.context.log(`alias ${run.data.alias} now points at ${run.target}${run.state.previous ? ` (was ${run.state.previous})` : ''}`);
  return { next: 'draining' };
}

/**
 * Waits while an earlier attempt's lease runs (that attempt may still be writing). False if live
 * encoders already took the collection over (the fence is open and the alias serves it): the
 * rebuild must not write again.
 */
async function acquireFence(run: RebuildRun): Promise<boolean> {
  const { context, target, groupId } = run;
  const leaseMs = context.config.reindex.fenceLeaseMs;
  let logged = '';
  for (;;) {
    const { aliases } = await context.qdrant.getAliases();
    const served = aliases.some((a) => a.alias_name === run.data.alias && a.collection_name === target);
    // Before the swap no live encoder writes the target, so an open fence (reopened by
    // reconciliation while this job waited) may be closed again.
    const result = await context.fences.acquire(target, { owner: context.leaseOwner, jobId: context.jobId, groupId }, leaseMs, !served);
    if (result.outcome === 'acquired') return true;
    if (result.outcome === 'open') return false;
    if (logged !== result.lease.owner) {
      logged = result.lease.owner;
      await context.log(`waiting for the write fence lease of job ${result.lease.jobId} (another attempt) on ${target} to lapse`);
    }
    await wait(run, Math.min(context.config.reindex.progressIntervalMs, leaseMs));
  }
}

/** Points the alias at `target` in one request (delete + create apply atomically). Idempotent. */
async function swapAlias(qdrant: QdrantClient, alias: string, target: string): Promise<void> {
  const { aliases } = await qdrant.getAliases();
  const previous = aliases.find((a) => a.alias_name === alias)?.collection_name ?? null;
  if (previous === target) return;
  await qdrant.updateCollectionAliases({
    actions: [
      ...(previous ? [{ delete_alias: { alias_name: alias } }] : []),
      { create_alias: { alias_name: alias, collection_name: target } },
    ],
  });
}
