import { report, position } from './progress.ts';
import { refuseLoss } from './loss-check.ts';
import { consume, throwIfCancelled, wait, type PhaseOutcome, type RebuildRun } from './rebuild-run.ts';

/**
 * Replays the compacted ingest topic from the earliest offset with the rebuild's own group, until
 * no partition lags: everything published so far is in the target. The group keeps tailing, so
 * updates and deletes published meanwhile land there too. Then it looks up what the alias serves.
 */
export async function phaseReplaying(run: RebuildRun): Promise<PhaseOutcome<'replaying'>> {
  await consume(run);
  for (;;) {
    const p = await position(run);
    await report(run, 'replaying', p.lag, p.processed);
    if (p.lag === 0) break;
    await throwIfCancelled(run);
    await wait(run, run.context.config.reindex.progressIntervalMs);
  }
  const { aliases } = await run.context.qdrant.getAliases();
  const previous = aliases.find((a) => a.alias_name === run.data.alias)?.collection_name ?? null;
  if (!previous || previous === run.target) return { next: 'handover', patch: { previous: null } };
  // Before anything is mirrored to the target or judged: a replay that lost a served document is refused now.
  await refuseLoss(run, previous);
  return { next: 'shadowing', patch: { previous } };
}
