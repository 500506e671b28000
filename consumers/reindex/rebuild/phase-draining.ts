import { lostLease } from './lease-lost.ts';
import { position, report } from './progress.ts';
import { wait, type PhaseOutcome, type RebuildRun } from './rebuild-run.ts';

/**
 * After one alias-cache lifetime no live encoder writes the old collection any more; whatever
 * they wrote there was published before now, so the rebuild group applies it to the target, up to
 * the topic's end as it is then, and stops.
 */
export async function phaseDraining(run: RebuildRun): Promise<PhaseOutcome<'draining'>> {
  const { config } = run.context;
  await report(run, 'draining', 0, run.total);
  await wait(run, config.query.aliasCacheTtlMs + 1_000);
  let p = await position(run);
  const highs = p.ends;
  for (;;) {
    await report(run, 'draining', p.lag, run.total);
    if (run.keeper.lost) return lostLease(run);
    if (reached(p.committed, highs)) break;
    await wait(run, config.reindex.progressIntervalMs);
    p = await position(run);
  }
  await run.group.close();
  return { next: 'reopening' };
}

function reached(committed: ReadonlyMap<string, bigint>, highs: ReadonlyMap<string, bigint>): boolean {
  return [...highs].every(([partition, high]) => (committed.get(partition) ?? 0n) >= high);
}
